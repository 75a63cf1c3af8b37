"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from app.models.account import Account, LoginSession
from app.models.base import utcnow
from app.models.oauth import App, AuthorizationCode, AuthorizationRequest, Grant, GrantUse, OAuthToken
from app.models.security import SecurityEvent

__all__ = [
    "Account",
    "App",
    "AuthorizationCode",
    "AuthorizationRequest",
    "Grant",
    "GrantUse",
    "LoginSession",
    "OAuthToken",
    "SecurityEvent",
    "utcnow",
]
