"""RFC 7009 revocation and RFC 7662 introspection on Authlib's endpoints, filled from ``app.services.oauth``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from app.oauth.adapters import ClientModel, FoundTokenModel
from app.services.oauth import revocation, tokens

if TYPE_CHECKING:
    from app.oauth.server import ConsentryAuthorizationServer


def _check_params(request: OAuth2Request) -> None:
    # RFC 7009 §2.1: an unknown token_type_hint is not an error; the search just covers every token type.
    if not request.form.get("token"):
        raise InvalidRequestError("Missing 'token'.")


class _FindsOurTokens:
    """What both endpoints share: the parameter check and the token lookup (``app.services.oauth.tokens``)."""

    server: ConsentryAuthorizationServer

    def check_params(self, request: OAuth2Request, client: ClientModel) -> None:
        _check_params(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> FoundTokenModel | None:
        view = tokens.find_token(self.server.session, token=token_string, hint=token_type_hint)
        return FoundTokenModel(view) if view else None


class RevocationEndpoint(_FindsOurTokens, _RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def authenticate_token(self, request: OAuth2Request, client: ClientModel) -> FoundTokenModel | None:
        # Authlib answers invalid_grant for another client's token, which would tell a thief that a stolen token is
        # live. Another app's token is treated like an unknown one: 200 and nothing revoked (RFC 7009 §2.2).
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        return token if token is not None and token.check_client(client) else None

    def revoke_token(self, token: FoundTokenModel, request: OAuth2Request) -> None:
        revocation.revoke_token(self.server.session, view=token.view)


class IntrospectionEndpoint(_FindsOurTokens, _IntrospectionEndpoint):
    # Confidential clients only: introspection answers with who the token acts for.
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def check_permission(self, token: FoundTokenModel, client: ClientModel, request: OAuth2Request) -> bool:
        # An app may introspect only its own tokens; anyone else's look inactive (no oracle for stolen tokens).
        return token.check_client(client)

    def introspect_token(self, token: FoundTokenModel) -> dict[str, Any]:
        view = token.view
        expires_at = view.expires_at
        return {
            "active": True,
            "scope": view.scopes,
            "client_id": view.app.client_id,
            "username": view.account.username,
            "token_type": "Bearer" if view.kind == tokens.ACCESS_TOKEN else "refresh_token",
            "exp": int(expires_at.timestamp()) if expires_at else None,
            "iat": int(view.row.issued_at.timestamp()),
            "sub": str(view.account.id),
            "iss": self.server.settings.issuer,
        }
