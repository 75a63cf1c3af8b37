"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from app.models.account import Account, LoginSession
from app.models.base import utcnow
from app.models.oauth import App, AuthorizationCode, AuthorizationRequest, Grant, OAuthToken
from app.models.oauth1 import OAuth1Nonce, OAuth1TemporaryCredential, OAuth1Token

__all__ = [
    "Account",
    "App",
    "AuthorizationCode",
    "AuthorizationRequest",
    "Grant",
    "LoginSession",
    "OAuth1Nonce",
    "OAuth1TemporaryCredential",
    "OAuth1Token",
    "OAuthToken",
    "utcnow",
]
