"""Demo data: an account signed in from several devices and countries, with four connected apps (one of them an
OAuth 1.0a app with an access level, as most of X's long-lived apps still are)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engines import transaction
from app.models import Account, Grant, OAuth1Token, OAuthToken, utcnow
from app.services.accounts import create_account
from app.services.apps import register_app
from app.services.digests import digest, new_token
from app.services.oauth1.registration import OAuth1Options
from app.services.oauth1.sealing import seal
from app.services.permissions import OFFLINE_ACCESS, load_catalog
from app.services.sessions import open_session
from app.settings import Settings

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "apps-and-sessions"  # noqa: S105 - the demo account's published password (README), not a secret

# (user agent, public IP, how long ago it signed in, minutes since last activity, client kind)
_DEMO_SESSIONS = [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "81.2.69.160", timedelta(days=3), 40, "mobile"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
     "Safari/537.36", "8.8.8.8", timedelta(days=9), 60 * 26, "web"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile "
     "Safari/537.36", "200.160.2.3", timedelta(days=20), 60 * 24 * 6, "mobile"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0", "1.1.1.1",
     timedelta(hours=5), 12, "web"),
]

# (name, developer, description, website, scopes, last used how long ago)
_DEMO_APPS = [
    ("Postwise Reader", "Postwise Labs", "A calm reader for your timeline: no ads, no algorithm.",
     "https://postwise.example", "tweet.read users.read follows.read list.read", timedelta(hours=3)),
    ("Buffered", "Buffered Inc.", "Schedule posts and media for the best time of day.",
     "https://buffered.example", "tweet.read tweet.write users.read media.write offline.access",
     timedelta(minutes=20)),
    ("Inbox Zero for DMs", "Quiet Software", "Sort, search and answer your Direct Messages.",
     "https://inboxzero.example", "dm.read dm.write users.read users.email", timedelta(days=12)),
]


# (name, developer, description, website, access level, add-ons, last used how long ago): OAuth 1.0a
_DEMO_OAUTH1_APP = ("Threadline Desktop", "Threadline Co.", "A desktop client for reading and writing long threads.",
                    "https://threadline.example", "read-write", ["email"], timedelta(days=2))


async def demo_account_exists(db: AsyncSession) -> bool:
    return bool(await db.scalar(select(func.count()).select_from(Account).where(
        col(Account.username_key) == DEMO_USERNAME)))


async def seed_demo(db: AsyncSession, *, settings: Settings, only_if_empty: bool = False) -> bool:
    """Create the demo data; with ``only_if_empty`` do nothing when any account exists. Returns True if created."""
    if only_if_empty and (await db.scalar(select(func.count()).select_from(Account))):
        return False
    account = await create_account(db, username=DEMO_USERNAME, name="Demo Person", password=DEMO_PASSWORD,
                                   email="demo@consentry.example")
    now = utcnow()
    for user_agent, ip, age, idle_minutes, kind in _DEMO_SESSIONS:
        await open_session(db, account=account, ip_address=ip, user_agent=user_agent, client_kind=kind,
                           signed_in_at=now - age, last_active_at=now - timedelta(minutes=idle_minutes))
    catalog = load_catalog(settings.permission_catalog_path)
    for index, (name, developer, description, website, scopes, used_ago) in enumerate(_DEMO_APPS):
        registered = await register_app(
            db, owner=None, name=name, description=description, website_url=website, icon_url=None,
            redirect_uris=[f"{website}/oauth/callback"], scopes=scopes.split(), confidential=True,
            developer_name=developer, catalog=catalog, privacy_policy_url=f"{website}/privacy",
            terms_url=f"{website}/terms")
        authorized_at = now - timedelta(days=30 * (index + 1))
        grant = Grant(account_id=account.id, app_id=registered.app.id, scopes=scopes,
                      authorized_at=authorized_at, last_used_at=now - used_ago)
        offline = OFFLINE_ACCESS in scopes.split()
        token = OAuthToken(
            grant_id=grant.id, app_id=registered.app.id, account_id=account.id, family_id=uuid.uuid4(),
            access_digest=digest(new_token()), refresh_digest=digest(new_token()) if offline else None,
            scopes=scopes, issued_at=now - used_ago, access_expires_at=now - used_ago + settings.access_token_lifetime,
            refresh_expires_at=now + settings.refresh_token_lifetime if offline else None)
        async with transaction(db):
            db.add(grant)
            await db.flush()
            db.add(token)
    await _seed_oauth1_app(db, account=account, settings=settings)
    return True


async def _seed_oauth1_app(db: AsyncSession, *, account: Account, settings: Settings) -> None:
    name, developer, description, website, level, add_ons, used_ago = _DEMO_OAUTH1_APP
    registered = await register_app(
        db, owner=None, name=name, description=description, website_url=website, icon_url=None,
        redirect_uris=[f"{website}/oauth/callback"], scopes=[], confidential=True, developer_name=developer,
        catalog=load_catalog(settings.permission_catalog_path),
        oauth1=OAuth1Options(access_level=level, add_ons=add_ons, secret_key=settings.secret_key))
    now = utcnow()
    grant = Grant(account_id=account.id, app_id=registered.app.id, scopes=registered.app.scopes,
                  authorized_at=now - timedelta(days=400), last_used_at=now - used_ago)
    token = OAuth1Token(grant_id=grant.id, app_id=registered.app.id, account_id=account.id,
                        token_digest=digest(new_token()),
                        secret_sealed=seal(new_token(), secret_key=settings.secret_key),
                        scopes=registered.app.scopes, issued_at=now - timedelta(days=400))
    async with transaction(db):
        db.add(grant)
        await db.flush()
        db.add(token)
