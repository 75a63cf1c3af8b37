"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from app.models.account import Account, LoginSession
from app.models.base import utcnow
from app.models.oauth import App, AuthorizationCode, AuthorizationRequest, Grant, OAuthToken

__all__ = [
    "Account",
    "App",
    "AuthorizationCode",
    "AuthorizationRequest",
    "Grant",
    "LoginSession",
    "OAuthToken",
    "utcnow",
]
