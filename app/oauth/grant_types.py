"""Authlib grants, tightened to SECURITY.md A-E.

Authlib's defaults are looser than our rules: it accepts ``plain`` PKCE, lets requests without a challenge through,
falls back to a default redirect URI, never rotates refresh tokens and deletes codes non-atomically. These
subclasses only fill Authlib's storage hooks and add the stricter checks; the rules themselves (atomic code
consumption, rotation, reuse detection) live in ``app.services.oauth`` and run from ``server.save_token``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    UnsupportedResponseTypeError,
    grants,
)
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge

from app.models import Account
from app.oauth.adapters import ClientModel, CodeModel, RefreshTokenModel
from app.services.digests import new_token
from app.services.oauth import codes, tokens
from app.services.permissions import join_scopes, split_scopes

if TYPE_CHECKING:
    from app.oauth.server import ConsentryAuthorizationServer

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
# Longer states are refused (and never echoed back): the value is stored with the pending request.
MAX_STATE_LENGTH = 1024
# Parameters of the authorization request that must not repeat (RFC 6749 §3.1); unknown ones are ignored.
AUTHORIZATION_PARAMETERS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
    "prompt",
)


class S256CodeChallenge(CodeChallenge):
    """PKCE required for every client, S256 only (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    CODE_CHALLENGE_METHODS: ClassVar[dict[str, Any]] = {"S256": compare_s256_code_challenge}

    def validate_code_challenge(self, grant: grants.BaseGrant, redirect_uri: Any) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge and code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: grants.BaseGrant, result: Any) -> None:
        """Check the verifier. A code that fails the check is burnt (used up, nothing issued): whoever holds a code
        gets one try, so a thief cannot guess verifiers, and nobody redeems it after a failed attempt."""
        request = grant.request
        try:
            if request.authorization_code.code_challenge and not request.form.get("code_verifier"):
                raise InvalidGrantError("Missing 'code_verifier'.")
            super().validate_code_verifier(grant, result)
        except OAuth2Error:
            codes.burn_code(grant.server.session, code_id=request.authorization_code.row.id)
            raise


class _UnsupportedResponseType(UnsupportedResponseTypeError):
    """With a fixed description: Authlib's echoes the value, RFC 6749 §4.1.2.1 limits the characters an
    error_description may hold, and no third party's text should reach the app's error screen."""

    def get_error_description(self) -> str:
        return "Only response_type=code is supported."


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    server: ConsentryAuthorizationServer

    @classmethod
    def check_authorization_endpoint(cls, request: OAuth2Request) -> bool:
        # This grant answers every authorization request, so a missing or unsupported response_type is reported
        # by our rules (and only after the redirect URI is known to be safe).
        return True

    @staticmethod
    def validate_no_multiple_request_parameter(request: OAuth2Request) -> None:
        """Checked in validate_authorization_request, where we know whether redirecting the error is safe."""

    def validate_authorization_request(self) -> str:
        """Errors before the redirect URI is validated carry no redirect_uri (the caller shows a 400 page);
        after it they carry it (the caller redirects back with error, state and iss)."""
        request = self.request
        payload = request.payload
        for name in ("client_id", "redirect_uri"):
            if len(payload.datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Multiple '{name}' parameters.")
        if not payload.client_id:
            raise InvalidClientError(description="Missing 'client_id'.")
        client = self.server.query_client(payload.client_id)
        if client is None:
            raise InvalidClientError(description="The client does not exist on this server.")
        if not payload.redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri'.")
        redirect_uri = self.validate_authorization_redirect_uri(request, client)
        request.client = client
        try:
            self._validate_redirectable(payload, client)
        except OAuth2Error as error:
            error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuth2Request, client: ClientModel) -> str:
        # Authlib's own message echoes the URI, and an URI with a quote in it would crash its error constructor.
        redirect_uri: str = request.payload.redirect_uri
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("The redirect_uri is not registered for this client.")
        return redirect_uri

    def _validate_redirectable(self, payload: Any, client: ClientModel) -> None:
        for name in AUTHORIZATION_PARAMETERS:
            if len(payload.datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Multiple '{name}' parameters.")
        if len(payload.state or "") > MAX_STATE_LENGTH:
            raise InvalidRequestError(f"'state' must be at most {MAX_STATE_LENGTH} characters.")
        if "none" in (prompt := (payload.data.get("prompt") or "").split()) and len(prompt) > 1:
            raise InvalidRequestError("prompt=none cannot be combined with other values.")  # OIDC Core §3.1.2.1
        if not payload.response_type:
            raise InvalidRequestError("Missing 'response_type'.")
        if payload.response_type != "code":
            raise _UnsupportedResponseType(payload.response_type)
        self.validate_requested_scope()
        scope = client.get_allowed_scope(payload.scope)
        if scope is None:
            raise InvalidScopeError("Ask for at least one of the scopes this app registered, and no others.")
        self.request.scope = scope
        self.execute_hook("after_validate_authorization_request_payload", None)

    def query_authorization_code(self, code: str, client: ClientModel) -> CodeModel | None:
        row = codes.find_live_code(self.server.session, code=code, app_id=client.app.id)
        return CodeModel(row) if row else None

    def delete_authorization_code(self, authorization_code: CodeModel) -> None:
        """Nothing left to do: save_token consumed the code in the same transaction as the token insert."""

    def authenticate_user(self, authorization_code: CodeModel) -> Account | None:
        return self.server.session.get(Account, authorization_code.row.account_id)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        raise NotImplementedError("codes are issued by app.services.grants after consent")


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh returns a new refresh token
    server: ConsentryAuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenModel | None:
        # request.client is already authenticated here: another app's token is unknown to it and stays untouched.
        row = tokens.find_live_refresh_token(
            self.server.session, refresh_token=refresh_token, app_id=self.request.client.app.id
        )
        return RefreshTokenModel(row) if row else None

    def authenticate_user(self, refresh_token: RefreshTokenModel) -> Account | None:
        account = self.server.session.get(Account, refresh_token.row.account_id)
        if account is None or account.is_disabled:
            raise InvalidGrantError("The account is disabled.")
        return account

    def issue_token(self, user: Account, refresh_token: RefreshTokenModel) -> dict[str, Any]:
        """RFC 6749 §6: the access token gets the scope asked for (normalised; the refresh token's when none was),
        and the new refresh token always the scope of the one it replaces, so narrowing one access token neither
        narrows nor ends the app's offline access (``save_token`` stores the two scopes)."""
        requested = self.request.payload.scope
        scope = join_scopes(split_scopes(requested)) if requested else refresh_token.get_scope()
        token: dict[str, Any] = self.generate_token(user=user, scope=scope, include_refresh_token=False)
        token["refresh_token"] = new_token()
        return token

    def revoke_old_credential(self, refresh_token: RefreshTokenModel) -> None:
        """Nothing left to do: save_token retired the old refresh token in the same transaction as the insert."""
