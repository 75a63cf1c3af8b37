"""The benchmark's data, built with the app's own services and models.

Small, hand-shaped accounts serve each figure (the settings page of G1, the 1/10/100/1,000-app accounts of G2,
the 1-vs-1,000 revocations of G5, sign-ins for G4, an OAuth client for G3, an OAuth 1.0a app for G8). Everything
a figure needs to send is written to a JSON fixture that the driver reads.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text

from app.db.engines import create_database
from app.graphql.ids import to_global_id
from app.models import Account, App, Grant, LoginSession, OAuthToken, utcnow
from app.services.apps import register_app
from app.services.digests import digest, new_token
from app.services.oauth1.registration import OAuth1Options
from app.services.oauth1.temporary import (
    OOB,
    approve_credential,
    find_approved_credential,
    get_pending_credential,
    issue_temporary_credential,
)
from app.services.oauth1.tokens import exchange_credential
from app.services.passwords import hash_password
from app.services.permissions import load_catalog
from app.services.sessions import open_session

PASSWORD = "bench-password-not-secret"
PAGE_SCOPES = "tweet.read users.read tweet.write"  # 3 permissions: 2 to view, 1 to do
APP_COUNT = 1000
G2_SIZES = (1, 10, 100, 1000)
G5_SIZES = (1, 1000)
LOGIN_ACCOUNTS = 8
USER_AGENTS = (
    ("81.2.69.160", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Version/17.5 Mobile/15E148 Safari/604.1"),
    ("8.8.8.8", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/126.0.0.0 Safari/537.36"),
    ("1.1.1.1", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0"),
    ("9.9.9.9", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/126.0.0.0 Mobile Safari/537.36"),
    ("127.0.0.1", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
)


@dataclass
class Fixture:
    """What the driver needs: tokens to send, IDs to revoke, accounts to sign in as."""

    page_token: str = ""
    g2_tokens: dict[int, str] = field(default_factory=dict)
    revoke_token: str = ""
    revoke_account_id: str = ""
    revoke_apps: dict[int, str] = field(default_factory=dict)  # tokens held → global App ID
    logout_tokens: dict[int, str] = field(default_factory=dict)  # other sessions → token of the current one
    logout_account_ids: dict[int, str] = field(default_factory=dict)
    login_usernames: list[str] = field(default_factory=list)
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    oauth_access_token: str = ""
    oauth_account_id: str = ""
    oauth1_consumer_key: str = ""  # an OAuth 1.0a app ("Read") with a token credential of the same account
    oauth1_consumer_secret: str = ""
    oauth1_token: str = ""
    oauth1_token_secret: str = ""
    password: str = PASSWORD

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Fixture:
        raw = dict(raw)
        for name in ("g2_tokens", "revoke_apps", "logout_tokens", "logout_account_ids"):
            raw[name] = {int(k): v for k, v in raw[name].items()}
        return cls(**raw)


def _account(username: str, password_hash: str) -> Account:
    return Account(username=username, username_key=username.lower(), name=username.title(),
                   email=f"{username}@bench.example", password_hash=password_hash)


def _apps() -> list[App]:
    return [App(client_id=f"bench-{index:04d}", name=f"Bench App {index}", description=f"App number {index}.",
                website_url=f"https://app{index}.bench.example", icon_url=f"https://app{index}.bench.example/i.png",
                developer_name=f"Developer {index % 7}", redirect_uris=[f"https://app{index}.bench.example/cb"],
                scopes=PAGE_SCOPES + " offline.access") for index in range(APP_COUNT)]


def _grants(account: Account, apps: list[App]) -> list[Grant]:
    now = utcnow()
    # Some apps used recently, some never: both branches of the ordering and of lastUsedAt appear.
    return [Grant(account_id=account.id, app_id=app.id, scopes=PAGE_SCOPES, authorized_at=now - timedelta(hours=i),
                  last_used_at=now - timedelta(minutes=i) if i % 2 else None) for i, app in enumerate(apps)]


def token_rows(grant: Grant, count: int) -> list[dict[str, Any]]:
    expires = utcnow() + timedelta(days=30)
    return [{"id": uuid.uuid4(), "grant_id": grant.id, "app_id": grant.app_id, "account_id": grant.account_id,
             "family_id": uuid.uuid4(), "access_digest": digest(new_token()), "scopes": grant.scopes,
             "issued_at": utcnow(), "access_expires_at": expires} for _ in range(count)]


def session_rows(account: Account, count: int) -> list[dict[str, Any]]:
    now = utcnow()
    return [{"id": uuid.uuid4(), "account_id": account.id, "token_digest": digest(new_token()),
             "client_kind": "web", "device": "Computer", "signed_in_at": now, "last_active_at": now}
            for _ in range(count)]


async def build(database_url: str, *, base_url: str, secret_key: str) -> Fixture:
    """Fill an empty, migrated database and return the fixture. ``secret_key`` is the server's: OAuth 1.0a secrets
    are sealed with it."""
    database = create_database(database_url)
    fixture = Fixture()
    password_hash = await hash_password(PASSWORD)
    try:
        async with database.async_sessions() as db:
            apps = _apps()
            page = _account("bench", password_hash)
            g2 = {size: _account(f"apps{size}", password_hash) for size in G2_SIZES}
            revoke = _account("revoke", password_hash)
            logout = {size: _account(f"logout{size}", password_hash) for size in G5_SIZES}
            logins = [_account(f"login{i}", password_hash) for i in range(LOGIN_ACCOUNTS)]
            oauth_user = _account("oauthuser", password_hash)
            db.add_all([*apps, page, *g2.values(), revoke, *logout.values(), *logins, oauth_user])
            await db.flush()
            db.add_all(_grants(page, apps[:10]))
            for size, account in g2.items():
                db.add_all(_grants(account, apps[:size]))
            revoke_grants = {size: grant for size, grant in zip(G5_SIZES, _grants(revoke, apps[10:12]), strict=True)}
            db.add_all(revoke_grants.values())
            await db.flush()
            for size, grant in revoke_grants.items():
                await db.execute(insert(OAuthToken), token_rows(grant, size))
            for size, account in logout.items():
                await db.execute(insert(LoginSession), session_rows(account, size))
            await db.commit()

            for ip, agent in USER_AGENTS:  # the current session signs in last, so it is the newest
                fixture.page_token = (await open_session(db, account=page, ip_address=ip, user_agent=agent)).token
            for size, account in g2.items():
                fixture.g2_tokens[size] = (await open_session(db, account=account, ip_address="127.0.0.1",
                                                              user_agent=USER_AGENTS[0][1])).token
            fixture.revoke_token = (await open_session(db, account=revoke, ip_address="127.0.0.1",
                                                       user_agent=USER_AGENTS[1][1])).token
            fixture.revoke_account_id = str(revoke.id)
            fixture.revoke_apps = {size: to_global_id("App", g.app_id) for size, g in revoke_grants.items()}
            for size, account in logout.items():
                fixture.logout_tokens[size] = (await open_session(db, account=account, ip_address="127.0.0.1",
                                                                  user_agent=USER_AGENTS[2][1])).token
                fixture.logout_account_ids[size] = str(account.id)
            fixture.login_usernames = [account.username for account in logins]
            await _oauth_client(db, fixture, oauth_user, base_url)
            await _oauth1_app(database, db, fixture, oauth_user, secret_key)
        if database.async_engine.dialect.name == "postgresql":
            # A running PostgreSQL has statistics (autovacuum analyzes changed tables within a minute); a freshly
            # filled one has none until then, and without them the planner joins the token check to every live
            # grant instead of the token's own by primary key. Measure the database as it runs, not its first minute.
            async with database.async_engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("ANALYZE"))
    finally:
        await database.dispose()
    return fixture


async def _oauth_client(db: Any, fixture: Fixture, account: Account, base_url: str) -> None:
    """A confidential client with a live access token (scope users.read) of its own account, for G3."""
    registered = await register_app(
        db, owner=None, name="Bench OAuth client", description="Introspects tokens.", website_url=None,
        icon_url=None, redirect_uris=[f"{base_url}/callback"], scopes=PAGE_SCOPES.split(), confidential=True,
        developer_name="Bench", catalog=load_catalog())
    grant = Grant(account_id=account.id, app_id=registered.app.id, scopes=PAGE_SCOPES)
    db.add(grant)
    await db.flush()
    raw = new_token()
    row = token_rows(grant, 1)[0] | {"access_digest": digest(raw)}
    await db.execute(insert(OAuthToken), [row])
    await db.commit()
    fixture.oauth_client_id = registered.app.client_id
    fixture.oauth_client_secret = registered.client_secret or ""
    fixture.oauth_access_token = raw
    fixture.oauth_account_id = str(account.id)


async def _oauth1_app(database: Any, db: Any, fixture: Fixture, account: Account, secret_key: str) -> None:
    """An OAuth 1.0a app ("Read": users.read, no email, so ``/api/v1/me`` answers what it answers G3's bearer token)
    with a token credential of the same account, for G8. Made as the PIN flow makes it, through the services the
    endpoints call: temporary credential, the person's approval, the exchange."""
    registered = await register_app(
        db, owner=None, name="Bench OAuth 1.0a app", description="Signs every request.", website_url=None,
        icon_url=None, redirect_uris=[], scopes=[], confidential=True, developer_name="Bench",
        catalog=load_catalog(), oauth1=OAuth1Options(access_level="read", secret_key=secret_key))
    app = registered.app
    with database.sync_sessions() as session:  # request_token and access_token run on sync sessions
        issued = issue_temporary_credential(session, app=app, callback=OOB, scopes=app.scopes, secret_key=secret_key)
    pending = await get_pending_credential(db, token=issued.token)
    await approve_credential(db, account=account, pending=pending)
    await db.commit()  # end the read transaction before another connection writes (SQLite)
    with database.sync_sessions() as session:
        credential = find_approved_credential(session, token=issued.token, app_id=app.id)
        if credential is None:
            raise RuntimeError("the bench's OAuth 1.0a temporary credential was not approved")
        token = exchange_credential(session, credential=credential, secret_key=secret_key)
    fixture.oauth1_consumer_key = app.client_id
    fixture.oauth1_consumer_secret = registered.client_secret or ""
    fixture.oauth1_token = token.token
    fixture.oauth1_token_secret = token.secret
