"""Apps (OAuth clients): registration, secret rotation and lookups.

The client ID is random; a confidential app's client secret is shown once and stored only as a SHA-256 digest (an
OAuth 1.0a app's consumer secret is also sealed: its HMAC signatures need it, see ``app.services.oauth1.sealing``).
Redirect URIs are checked here once and later matched byte for byte, so nothing loose ever reaches a redirect.
"""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engines import transaction
from app.models import Account, App, Grant
from app.models.base import detached_from_row, table_of
from app.services.digests import digest
from app.services.errors import Invalid, NotFound
from app.services.oauth1.registration import OAUTH1, OAUTH2, OAuth1Options, check_levels
from app.services.oauth1.sealing import seal
from app.services.paging import After, KeysetList, ListPage
from app.services.permissions import Catalog, join_scopes, split_scopes

CLIENT_ID_BYTES = 18  # 144 bits: unguessable, and short enough to read in logs
CLIENT_SECRET_BYTES = 32  # 256 bits
MAX_REDIRECT_URIS = 10
_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class RegisteredApp:
    app: App
    client_secret: str | None  # the raw secret: only right after creation or rotation, never stored


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, field: str, what: str, allow_query: bool = True) -> str:
    """An absolute https URL (http only on loopback, RFC 8252 §7.3) without fragment or credentials."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise Invalid(f"{what} is not a valid URL.", field=field) from exc
    if not parts.scheme or not host or len(url) > 2000 or any(c.isspace() for c in url):
        raise Invalid(f"{what} must be an absolute URL.", field=field)
    if parts.fragment or "#" in url:
        raise Invalid(f"{what} must not contain a fragment.", field=field)
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"{what} must not contain credentials.", field=field)
    if not allow_query and parts.query:
        raise Invalid(f"{what} must not contain a query.", field=field)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return url
    raise Invalid(f"{what} must use https (http is allowed only on 127.0.0.1, [::1] or localhost).", field=field)


def _check_registration(
    *, name: str, redirect_uris: list[str], scopes: list[str], website_url: str | None, icon_url: str | None,
    catalog: Catalog, privacy_policy_url: str | None = None, terms_url: str | None = None, oauth1: bool = False,
) -> tuple[str, list[str], list[str]]:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("The name must be 1 to 100 characters.", field="name")
    if not redirect_uris and not oauth1:  # an OAuth 1.0a app may use the PIN flow (oob) alone
        raise Invalid("Register at least one redirect URI.", field="redirectUris")
    if len(redirect_uris) > MAX_REDIRECT_URIS:
        raise Invalid(f"Register at most {MAX_REDIRECT_URIS} redirect URIs.", field="redirectUris")
    uris = list(dict.fromkeys(check_url(u, field="redirectUris", what="Each redirect URI") for u in redirect_uris))
    wanted = split_scopes(" ".join(scopes))
    if oauth1:
        if wanted:
            raise Invalid("An OAuth 1.0a app chooses an access level and add-ons, not scopes.", field="scopes")
    elif not wanted:
        raise Invalid("Choose at least one permission.", field="scopes")
    unknown = [s for s in wanted if catalog.get(s) is None]
    if unknown:
        raise Invalid(f"Unknown permission(s): {', '.join(unknown)}.", field="scopes")
    if website_url:
        check_url(website_url, field="websiteUrl", what="The website")
    if icon_url:
        check_url(icon_url, field="iconUrl", what="The icon URL")
    if privacy_policy_url:
        check_url(privacy_policy_url, field="privacyPolicyUrl", what="The privacy policy")
    if terms_url:
        check_url(terms_url, field="termsUrl", what="The terms of service")
    return name, uris, wanted


async def register_app(
    db: AsyncSession,
    *,
    owner: Account | None,
    name: str,
    description: str,
    website_url: str | None,
    icon_url: str | None,
    redirect_uris: list[str],
    scopes: list[str],
    confidential: bool,
    developer_name: str | None,
    catalog: Catalog,
    privacy_policy_url: str | None = None,
    terms_url: str | None = None,
    oauth1: OAuth1Options | None = None,
) -> RegisteredApp:
    """Register an OAuth 2.0 app, or with ``oauth1`` an OAuth 1.0a one: always confidential (it signs with its
    consumer secret), one access level and add-ons instead of scopes, and callback URLs that may be none (PIN flow
    only)."""
    name, uris, wanted = _check_registration(
        name=name, redirect_uris=redirect_uris, scopes=scopes, website_url=website_url, icon_url=icon_url,
        catalog=catalog, privacy_policy_url=privacy_policy_url, terms_url=terms_url, oauth1=oauth1 is not None,
    )
    if len(description) > 1000:
        raise Invalid("The description must be at most 1000 characters.", field="description")
    levels = check_levels(oauth1, catalog) if oauth1 is not None else None
    confidential = confidential or oauth1 is not None
    secret = secrets.token_urlsafe(CLIENT_SECRET_BYTES) if confidential else None
    developer = (developer_name or "").strip() or (owner.name if owner else None)
    app = App(
        client_id=secrets.token_urlsafe(CLIENT_ID_BYTES),
        client_secret_digest=digest(secret) if secret else None,
        name=name,
        description=description.strip(),
        website_url=website_url.strip() if website_url else None,
        icon_url=icon_url.strip() if icon_url else None,
        privacy_policy_url=privacy_policy_url.strip() if privacy_policy_url else None,
        terms_url=terms_url.strip() if terms_url else None,
        developer_name=developer[:128] if developer else None,
        owner_id=owner.id if owner else None,
        redirect_uris=uris,
        scopes=levels.scopes if levels else join_scopes(wanted),
        confidential=confidential,
        protocol=OAUTH1 if levels else OAUTH2,
        access_level=levels.access_level if levels else None,
        add_ons=levels.add_ons if levels else "",
        client_secret_sealed=seal(secret, secret_key=oauth1.secret_key) if oauth1 and secret else None,
    )
    async with transaction(db):
        db.add(app)
    return RegisteredApp(app=app, client_secret=secret)


async def rotate_client_secret(db: AsyncSession, *, owner: Account, app_id: uuid.UUID | None,
                               secret_key: str | None = None) -> RegisteredApp:
    """Replace a confidential app's secret; the old one stops working at once. Only the owner may do it. An OAuth
    1.0a app's new consumer secret is sealed with ``secret_key``."""
    if app_id is None:
        raise NotFound("No such app.", field="appId")
    app = (
        await db.execute(select(App).where(col(App.id) == app_id, col(App.owner_id) == owner.id,
                                           col(App.confidential).is_(True)))
    ).scalar_one_or_none()
    if app is None:
        raise NotFound("No such app.", field="appId")
    secret = secrets.token_urlsafe(CLIENT_SECRET_BYTES)
    sealed = None
    if app.protocol == OAUTH1:
        if secret_key is None:
            raise Invalid("An OAuth 1.0a app's consumer secret needs the server's secret key to be sealed.")
        sealed = seal(secret, secret_key=secret_key)
    async with transaction(db):
        await db.execute(update(App).where(col(App.id) == app.id).values(
            client_secret_digest=digest(secret), client_secret_sealed=sealed))
    app.client_secret_digest, app.client_secret_sealed = digest(secret), sealed
    return RegisteredApp(app=app, client_secret=secret)


_apps = table_of(App)
_REGISTERED_LIST = KeysetList.build(
    [_apps], where=[_apps.c.owner_id == bindparam("owner_id")], sort=_apps.c.created_at, id_column=_apps.c.id,
    id_ascending=False,
)


async def list_registered_apps(
    db: AsyncSession, *, owner: Account, limit: int, after: After | None = None
) -> ListPage[App]:
    """One page of the apps this developer registered, newest first, with how many there are (one statement)."""
    page = await _REGISTERED_LIST.read(db, {"owner_id": owner.id}, limit=limit, after=after)
    apps = [detached_from_row(App, {column.name: row._mapping[column.name] for column in _apps.c})
            for row in page.rows]
    return ListPage(apps, page.total, page.has_more)


def position_of(app: App) -> After:
    """Where the page after ``app`` starts."""
    return After(key=app.created_at, id=app.id)


class AppRow(Protocol):
    """An app as pages show it: a read-only row (an ``App`` has the same attributes)."""

    id: uuid.UUID
    client_id: str
    name: str
    description: str
    website_url: str | None
    icon_url: str | None
    developer_name: str | None
    privacy_policy_url: str | None
    terms_url: str | None
    confidential: bool
    redirect_uris: list[str]
    scopes: str
    protocol: str  # oauth2 | oauth1
    access_level: str | None
    add_ons: str


# Built once: the DataLoader runs it on every settings page. Core rows, not ORM objects: they are only read.
_APPS_BY_ID = select(*(_apps.c[name] for name in AppRow.__annotations__)).where(
    _apps.c.id.in_(bindparam("ids", expanding=True)))


async def get_apps_by_ids(db: AsyncSession, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, AppRow]:
    """Apps by primary key in one SELECT (the DataLoader batch function)."""
    if not ids:
        return {}
    rows = (await db.execute(_APPS_BY_ID, {"ids": list(set(ids))})).all()
    return {row.id: row for row in rows}


async def get_visible_app(db: AsyncSession, *, account: Account, app_id: uuid.UUID) -> App:
    """An app the account may look up by ID: one it registered or one connected to it; else NotFound."""
    connected = select(col(Grant.id)).where(col(Grant.app_id) == col(App.id), col(Grant.account_id) == account.id,
                                            col(Grant.revoked_at).is_(None))
    app = (await db.execute(
        select(App).where(col(App.id) == app_id, (col(App.owner_id) == account.id) | connected.exists())
    )).scalar_one_or_none()
    if app is None:
        raise NotFound("No such app.", field="id")
    return app
