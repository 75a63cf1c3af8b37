"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from app.models.account import Account, LoginSession
from app.models.base import utcnow
from app.models.oauth import App, AuthorizationCode, AuthorizationRequest, Grant, GrantUse, OAuthToken
from app.models.oauth1 import OAuth1Nonce, OAuth1TemporaryCredential, OAuth1Token
from app.models.security import SecurityEvent

__all__ = [
    "Account",
    "App",
    "AuthorizationCode",
    "AuthorizationRequest",
    "Grant",
    "GrantUse",
    "LoginSession",
    "OAuth1Nonce",
    "OAuth1TemporaryCredential",
    "OAuth1Token",
    "OAuthToken",
    "SecurityEvent",
    "utcnow",
]
