"""Our rows dressed in the mixins Authlib expects (ClientMixin, AuthorizationCodeMixin, TokenMixin)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from app.models import App, AuthorizationCode, OAuthToken, utcnow
from app.services.digests import digest_matches
from app.services.oauth.tokens import TokenView, refresh_scope
from app.services.permissions import join_scopes, split_scopes

GRANT_TYPES = ("authorization_code", "refresh_token")
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class ClientModel(ClientMixin):
    def __init__(self, app: App) -> None:
        self.app = app

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> None:
        # Never guess: every authorization request must name one registered redirect URI (SECURITY A2).
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scope when it is non-empty and within what the app registered, else None (invalid_scope).
        An empty scope is refused rather than widened to a default, so consent always lists what was asked."""
        requested = split_scopes(scope)
        if not requested or not set(requested) <= set(split_scopes(self.app.scopes)):
            return None
        return join_scopes(requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.app.redirect_uris  # byte for byte, never a prefix or a normalised form

    def check_client_secret(self, client_secret: str) -> bool:
        return digest_matches(client_secret, self.app.client_secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.app.confidential:
            return method in CONFIDENTIAL_AUTH_METHODS
        return method == "none" and endpoint != "introspection"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class CodeModel(AuthorizationCodeMixin):
    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        # Read by Authlib's CodeChallenge extension.
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scopes


class RefreshTokenModel(TokenMixin):
    """A live refresh token presented at the token endpoint."""

    def __init__(self, row: OAuthToken) -> None:
        self.row = row

    def check_client(self, client: ClientModel) -> bool:
        return self.row.app_id == client.app.id

    def get_scope(self) -> str:
        """The refresh token's own scope: what a refresh may ask for, and what the next refresh token gets."""
        return refresh_scope(self.row)

    def get_expires_in(self) -> int:
        expires = self.row.refresh_expires_at
        return max(0, int((expires - utcnow()).total_seconds())) if expires else 0

    def is_expired(self) -> bool:
        return self.get_expires_in() <= 0

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.row.refresh_used_at is not None


class FoundTokenModel(TokenMixin):
    """Any token found by its raw value, for revocation and introspection."""

    def __init__(self, view: TokenView) -> None:
        self.view = view

    def check_client(self, client: ClientModel) -> bool:
        return self.view.app.id == client.app.id

    def get_scope(self) -> str:
        return self.view.scopes

    def get_expires_in(self) -> int:
        expires = self.view.expires_at
        return max(0, int((expires - utcnow()).total_seconds())) if expires else 0

    def is_expired(self) -> bool:
        return self.get_expires_in() <= 0

    def is_revoked(self) -> bool:
        # Inactive for any reason other than age: revoked, rotated, grant ended, account disabled.
        return not self.view.is_active(utcnow()) and not self.is_expired()
