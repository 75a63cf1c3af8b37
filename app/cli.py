"""``python -m app <command>``: serve, migrate, seed-demo, create-user, register-app, purge-expired,
export-schema."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from app.settings import ConfigurationError, Settings, load_settings

# A connection idle this long between requests is closed by uvicorn (its default, pinned here on purpose).
KEEP_ALIVE_SECONDS = 5


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    _fresh_metrics_directory()  # first: importing the app below creates this process's metric files there
    import uvicorn

    from app.db.migrate import upgrade_to_head
    from app.http.logs import configure_logging
    from app.services.permissions import load_catalog

    load_catalog(settings.permission_catalog_path)  # a bad catalogue path: one line now, not a traceback per worker
    # The parent process logs too (the migrations it runs, startup, workers that die and are replaced): as JSON
    # lines, like the workers, instead of uvicorn's plain text (log_config=None keeps uvicorn from installing its own).
    configure_logging(settings.log_level)
    upgrade_to_head(settings.database_url)
    # X-Forwarded-For is believed only from these addresses (uvicorn's default is 127.0.0.1 alone): a proxy in
    # another container or host must be named, or every session shows the proxy's address and one per-IP sign-in
    # limit covers everybody.
    #
    # What bounds a slow or greedy client (README, "Request bounds"): the app reads every body within its size and
    # time bound before any database work (app.http.request_body), and uvicorn closes a connection idle between requests
    # after timeout_keep_alive. uvicorn does NOT bound the time a client takes to send its headers, nor (with
    # httptools, its parser when installed, as here) their size: such a client holds a socket and the header bytes
    # it sent, never an app task or a database connection, and a proxy in front (nginx's client_header_timeout and
    # large_client_header_buffers) is the place to bound it. h11_max_incomplete_event_size would bound header bytes
    # only with the slower h11 parser. limit_concurrency is left unset: it answers 503 to everyone once that many
    # connections are open, which is the outage slow sockets are after.
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                proxy_headers=args.proxy_headers, forwarded_allow_ips=args.forwarded_allow_ips, log_level="info",
                log_config=None, timeout_keep_alive=KEEP_ALIVE_SECONDS)
    return 0


def _fresh_metrics_directory() -> None:
    """With PROMETHEUS_MULTIPROC_DIR (several workers' metrics, app.metrics), start from an empty directory, as
    prometheus-client requires: files left by an earlier run would be added to this one's counts. The directory is
    this ``serve``'s own (deploy/systemd gives each instance one), so nothing another server writes is lost."""
    from pathlib import Path

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for leftover in path.glob("*.db"):
        leftover.unlink()


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    from app.db.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)
    print("Database is at the newest migration.")
    return 0


def _run_with_session(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    from app.db.engines import with_session  # here, not at the top: ``--help`` and ``export-schema`` need no database

    return asyncio.run(with_session(settings.database_url, work, timeout_seconds=settings.database_timeout_seconds,
                                    pooled=settings.database_pooling))


def _seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.demo_data import DEMO_PASSWORD, DEMO_USERNAME, demo_account_exists, seed_demo

    async def work(db: Any) -> int:
        sign_in = f"Sign in as {DEMO_USERNAME!r} with password {DEMO_PASSWORD!r}."
        if await seed_demo(db, settings=settings, only_if_empty=args.if_empty):
            print(f"Demo data created. {sign_in}")
        elif await demo_account_exists(db):
            print(f"Demo data already there. {sign_in}")
        else:  # --if-empty found the operator's own accounts: no demo account to advertise
            print("Accounts exist already, so no demo data was created: sign in with one of them.")
        return 0

    return _run_with_session(settings, work)


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.accounts import create_account

    password = os.environ.get("CONSENTRY_NEW_PASSWORD") or getpass.getpass("Password: ")

    async def work(db: Any) -> int:
        account = await create_account(db, username=args.username, name=args.name or args.username,
                                       password=password, email=args.email)
        print(f"Created account @{account.username}.")
        return 0

    return _run_with_session(settings, work)


def _register_app(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.apps import register_app
    from app.services.oauth1.registration import OAUTH1, OAuth1Options
    from app.services.permissions import load_catalog

    oauth1 = None
    if args.protocol == OAUTH1:
        oauth1 = OAuth1Options(access_level=args.access_level or "", add_ons=args.add_on or [],
                               secret_key=settings.secret_key)
    elif args.access_level or args.add_on:
        print("error: --access-level and --add-on are for --protocol oauth1", file=sys.stderr)
        return 1

    async def work(db: Any) -> int:
        registered = await register_app(
            db, owner=None, name=args.name, description=args.description, website_url=args.website,
            icon_url=args.icon, redirect_uris=args.redirect_uri or [], scopes=(args.scopes or "").split(),
            confidential=not args.public, developer_name=args.developer,
            catalog=load_catalog(settings.permission_catalog_path), privacy_policy_url=args.privacy_policy,
            terms_url=args.terms, oauth1=oauth1)
        if oauth1 is not None:
            print(f"consumer key (API key): {registered.app.client_id}")
            print(f"consumer secret (API key secret): {registered.client_secret}  (shown once; kept only sealed "
                  "with CONSENTRY_SECRET_KEY and as a digest)")
            return 0
        print(f"client_id: {registered.app.client_id}")
        if registered.client_secret:
            print(f"client_secret: {registered.client_secret}  (shown once; only its digest is stored)")
        return 0

    return _run_with_session(settings, work)


def _purge_expired(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from app.services.purge import purge_expired
    from app.services.sessions import SessionPolicy

    if args.keep_days < 0:
        print("error: --keep-days cannot be negative", file=sys.stderr)
        return 1
    policy = SessionPolicy.of(settings)

    async def work(db: Any) -> int:
        purged = await purge_expired(db, policy=policy, keep=timedelta(days=args.keep_days),
                                     keep_security_events=timedelta(days=settings.security_event_days))
        print(f"Deleted {purged.login_sessions} ended sessions, {purged.oauth_tokens} dead tokens, "
              f"{purged.authorization_codes} expired codes and {purged.authorization_requests} expired "
              f"authorization requests (ended more than {args.keep_days} days ago); OAuth 1.0a: "
              f"{purged.oauth1_tokens} ended tokens, {purged.oauth1_temporary_credentials} expired temporary "
              f"credentials and {purged.oauth1_nonces} nonces past the timestamp window; and {purged.security_events} "
              f"security events older than {settings.security_event_days} days.")
        return 0

    return _run_with_session(settings, work)


def _export_schema(_args: argparse.Namespace, _settings: Settings) -> int:
    from app.graphql.endpoint import export_schema

    sys.stdout.write(export_schema())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Consentry: apps and sessions service.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-For from the proxy")
    serve.add_argument("--forwarded-allow-ips", default=os.environ.get("CONSENTRY_FORWARDED_ALLOW_IPS", "127.0.0.1"),
                       help="the proxy's addresses or networks, comma-separated (default 127.0.0.1; "
                            "CONSENTRY_FORWARDED_ALLOW_IPS)")
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(run=_migrate)

    seed = commands.add_parser("seed-demo", help="create the demo account, sessions and apps")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when any account exists")
    seed.set_defaults(run=_seed_demo)

    user = commands.add_parser("create-user", help="create an account (password from CONSENTRY_NEW_PASSWORD "
                                                   "or a prompt)")
    user.add_argument("username")
    user.add_argument("--name")
    user.add_argument("--email")
    user.set_defaults(run=_create_user)

    app = commands.add_parser("register-app", help="register an OAuth app as the operator")
    app.add_argument("name")
    app.add_argument("--redirect-uri", action="append",
                     help="a redirect URI (OAuth 2.0, at least one) or callback URL (OAuth 1.0a, none for PIN only); "
                          "repeat for more")
    app.add_argument("--scopes", help="space-separated scopes (OAuth 2.0)")
    app.add_argument("--protocol", choices=("oauth2", "oauth1"), default="oauth2",
                     help="oauth1: OAuth 1.0a User Context, with an access level instead of scopes")
    app.add_argument("--access-level", help="OAuth 1.0a: read, read-write or read-write-dm (the catalogue's keys)")
    app.add_argument("--add-on", action="append",
                     help="OAuth 1.0a: email, ads-analytics or ads-management; repeat for more")
    app.add_argument("--description", default="")
    app.add_argument("--website")
    app.add_argument("--privacy-policy", help="the app's privacy policy URL (shown on the consent page)")
    app.add_argument("--terms", help="the app's terms of service URL (shown on the consent page)")
    app.add_argument("--icon")
    app.add_argument("--developer")
    app.add_argument("--public", action="store_true", help="a public client (no secret, PKCE only)")
    app.set_defaults(run=_register_app)

    purge = commands.add_parser("purge-expired", help="delete ended sessions, dead tokens, expired codes and "
                                                      "authorization requests, and security events older than "
                                                      "CONSENTRY_SECURITY_EVENT_DAYS (run it daily, e.g. from cron)")
    purge.add_argument("--keep-days", type=int, default=30,
                       help="keep what ended fewer days ago (replays of codes and refresh tokens are still caught)")
    purge.set_defaults(run=_purge_expired)

    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(run=_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from sqlalchemy.exc import DBAPIError

    from app.services.errors import DomainError

    # One line for what an operator can fix; a traceback only for our own bugs. The engines hide statement
    # parameters, so a database error never prints a password hash.
    try:
        return int(args.run(args, settings))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        hint = " (run `python -m app migrate` first)" if _missing_table(exc) else ""
        print(f"database error: {reason}{hint}", file=sys.stderr)
    except _OperatorErrors as exc:
        print(f"error: {exc}", file=sys.stderr)
    except EOFError:
        print("error: no password given (set CONSENTRY_NEW_PASSWORD, or type it at the prompt)", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


# An unusable database URL (ValueError: unsupported or malformed) or file (OSError), or a bad catalogue path.
_OperatorErrors = (ConfigurationError, ValueError, OSError)


def _missing_table(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc))
    return "no such table" in text or getattr(getattr(exc, "orig", None), "sqlstate", None) == "42P01"
