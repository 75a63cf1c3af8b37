"""One settings object, read from ``CONSENTRY_*`` environment variables.

Defaults are safe for development on a laptop; production refuses to start without a real secret key and an
HTTPS issuer, so a forgotten variable fails loudly instead of running insecurely.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from limits import parse as parse_limit

GATEWAY_SECRET_MIN_LENGTH = 32
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - development only: validate() refuses it in production


class ConfigurationError(RuntimeError):
    """The environment describes a configuration we refuse to run with."""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CONSENTRY_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"CONSENTRY_{name} must be a whole number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./consentry.db"
    database_pooling: bool = True
    database_timeout_seconds: float = 10
    # How long a client may take to send a whole request body (app.http.request_body answers 408 after that).
    request_body_timeout_seconds: float = 10
    secret_key: str = DEV_SECRET_KEY
    environment: str = "development"
    base_url: str = "http://127.0.0.1:8000"
    session_idle_timeout: timedelta = timedelta(days=14)
    session_absolute_lifetime: timedelta = timedelta(days=90)
    access_token_lifetime: timedelta = timedelta(hours=2)
    refresh_token_lifetime: timedelta = timedelta(days=90)
    authorization_code_lifetime: timedelta = timedelta(seconds=60)
    authorization_request_lifetime: timedelta = timedelta(minutes=10)
    permission_catalog_path: str | None = None
    redis_url: str | None = None
    login_attempts_per_account: str = "10/15 minutes"
    login_attempts_per_ip: str = "50/15 minutes"
    # Live sessions one account may hold; signing in past it ends the least recently active session.
    max_sessions_per_account: int = 100
    login_attempts_per_device: str | None = None  # a known device's own budget; unset: as per account
    login_slowdown_seconds: int = 60  # once a budget is spent: one attempt per this many seconds
    security_event_days: int = 365  # how long the security timeline keeps an event (purge-expired deletes older)
    log_level: str = "INFO"
    # Who may call the gateway check and /metrics (app.http.gateway): a shared secret the gateway sends in a header,
    # networks it calls from (CIDRs), or both (then both must match). Neither set: nobody may.
    gateway_secret: str | None = None
    gateway_networks: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def issuer(self) -> str:
        """RFC 8414 / RFC 9207 issuer identifier: the public base URL without a trailing slash."""
        return self.base_url.rstrip("/")

    @property
    def cookie_secure(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix pins the cookie to this host, path / and Secure; browsers refuse it over plain http.
        return "__Host-consentry_session" if self.cookie_secure else "consentry_session"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def validate(self) -> None:
        if self.environment not in ("development", "production"):
            raise ConfigurationError("CONSENTRY_ENVIRONMENT must be 'development' or 'production'")
        if self.request_body_timeout_seconds <= 0:
            raise ConfigurationError("CONSENTRY_REQUEST_BODY_TIMEOUT_SECONDS must be a positive number of seconds")
        if self.max_sessions_per_account < 1:
            raise ConfigurationError("CONSENTRY_MAX_SESSIONS_PER_ACCOUNT must be at least 1")
        for name, limit in (("PER_ACCOUNT", self.login_attempts_per_account), ("PER_IP", self.login_attempts_per_ip),
                            ("PER_DEVICE", self.login_attempts_per_device or self.login_attempts_per_account)):
            try:
                parse_limit(limit)
            except ValueError as exc:
                raise ConfigurationError(f"CONSENTRY_LOGIN_ATTEMPTS_{name} must read like '10/15 minutes'") from exc
        if self.login_slowdown_seconds < 1:
            raise ConfigurationError("CONSENTRY_LOGIN_SLOWDOWN_SECONDS must be at least 1")
        if self.gateway_secret is not None and len(self.gateway_secret) < GATEWAY_SECRET_MIN_LENGTH:
            raise ConfigurationError(
                f"CONSENTRY_GATEWAY_SECRET must be at least {GATEWAY_SECRET_MIN_LENGTH} characters")
        for network in self.gateway_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ConfigurationError(f"CONSENTRY_GATEWAY_NETWORKS: {network!r} is not an address or a network "
                                         "like 10.0.0.0/8") from exc
        if self.security_event_days < 1:
            raise ConfigurationError("CONSENTRY_SECURITY_EVENT_DAYS must be at least 1")
        if self.is_production:
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ConfigurationError("production needs CONSENTRY_SECRET_KEY of at least 32 characters")
            if not self.base_url.startswith("https://"):
                raise ConfigurationError("production needs an https:// CONSENTRY_BASE_URL (the OAuth issuer)")


def load_settings() -> Settings:
    """Read the environment once; the app keeps the result for its lifetime."""
    settings = Settings(
        database_url=_env("DATABASE_URL", Settings.database_url),
        database_pooling=_env("DATABASE_POOLING", "on").lower() not in ("off", "false", "0", "no"),
        database_timeout_seconds=_env_int("DATABASE_TIMEOUT_SECONDS", 10),
        request_body_timeout_seconds=_env_int("REQUEST_BODY_TIMEOUT_SECONDS", 10),
        secret_key=_env("SECRET_KEY", DEV_SECRET_KEY),
        environment=_env("ENVIRONMENT", "development"),
        base_url=_env("BASE_URL", Settings.base_url),
        session_idle_timeout=timedelta(minutes=_env_int("SESSION_IDLE_MINUTES", 14 * 24 * 60)),
        session_absolute_lifetime=timedelta(hours=_env_int("SESSION_LIFETIME_HOURS", 90 * 24)),
        access_token_lifetime=timedelta(seconds=_env_int("ACCESS_TOKEN_SECONDS", 7200)),
        refresh_token_lifetime=timedelta(days=_env_int("REFRESH_TOKEN_DAYS", 90)),
        permission_catalog_path=os.environ.get("CONSENTRY_PERMISSION_CATALOG") or None,
        redis_url=os.environ.get("CONSENTRY_REDIS_URL") or None,
        login_attempts_per_account=_env("LOGIN_ATTEMPTS_PER_ACCOUNT", Settings.login_attempts_per_account),
        login_attempts_per_ip=_env("LOGIN_ATTEMPTS_PER_IP", Settings.login_attempts_per_ip),
        max_sessions_per_account=_env_int("MAX_SESSIONS_PER_ACCOUNT", Settings.max_sessions_per_account),
        login_attempts_per_device=os.environ.get("CONSENTRY_LOGIN_ATTEMPTS_PER_DEVICE") or None,
        login_slowdown_seconds=_env_int("LOGIN_SLOWDOWN_SECONDS", Settings.login_slowdown_seconds),
        security_event_days=_env_int("SECURITY_EVENT_DAYS", Settings.security_event_days),
        log_level=_env("LOG_LEVEL", Settings.log_level).upper(),
        gateway_secret=os.environ.get("CONSENTRY_GATEWAY_SECRET") or None,
        gateway_networks=tuple(part.strip() for part in _env("GATEWAY_NETWORKS", "").split(",") if part.strip()),
    )
    settings.validate()
    return settings
