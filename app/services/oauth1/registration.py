"""What an OAuth 1.0a app registers instead of scopes: one access level and any add-ons, from the catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.services.errors import Invalid
from app.services.permissions import AccessLevel, Catalog, join_scopes, split_scopes

OAUTH1, OAUTH2 = "oauth1", "oauth2"
PROTOCOLS = (OAUTH1, OAUTH2)


@dataclass(frozen=True)
class OAuth1Options:
    """An OAuth 1.0a registration: the catalogue keys of its level and add-ons, and the secret key that seals its
    consumer secret (``sealing``)."""

    access_level: str
    secret_key: str
    add_ons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckedLevels:
    access_level: str
    add_ons: str  # space-separated keys
    scopes: str  # what they amount to


def check_levels(options: OAuth1Options, catalog: Catalog) -> CheckedLevels:
    """The level and add-ons, known to the catalogue, and the scopes they grant together."""
    main, *_ = catalog.families()
    level = next((level for level in main if level.key == options.access_level), None)
    if level is None:
        keys = ", ".join(level.key for level in main) or "none in this catalogue"
        raise Invalid(f"Choose an access level: {keys}.", field="accessLevel")
    add_on_keys = list(dict.fromkeys(key for key in options.add_ons if key))
    add_ons: list[AccessLevel] = []
    for key in add_on_keys:
        add_on = catalog.level(key)
        if add_on is None or not add_on.add_on:
            known = ", ".join(level.key for level in catalog.access_levels if level.add_on) or "none"
            raise Invalid(f"Unknown add-on {key!r}; choose from: {known}.", field="addOns")
        add_ons.append(add_on)
    scopes = set(level.scopes).union(*(add_on.scopes for add_on in add_ons))
    return CheckedLevels(access_level=level.key, add_ons=" ".join(add_on_keys), scopes=join_scopes(scopes))


def requested_scopes(*, app_scopes: str, app_level: str | None, access_type: str | None, catalog: Catalog) -> str:
    """What a temporary credential asks the person for: the app's level and add-ons, or with ``x_auth_access_type``
    a narrower level (never a wider one: asking for write on a Read app still gets Read)."""
    if access_type is None:
        return app_scopes
    main, *_ = catalog.families()
    wanted = next((level for level in main if level.x_auth_access_type == access_type), None)
    if wanted is None:
        raise Invalid("x_auth_access_type must be 'read' or 'write'.", field="x_auth_access_type")
    current = next((level for level in main if level.key == app_level), None)
    if current is None or main.index(wanted) >= main.index(current):
        return app_scopes
    # Keep the add-ons, take the narrower level's scopes instead of the app's level's.
    level_only = set(current.scopes) - {s for level in catalog.access_levels if level.add_on for s in level.scopes}
    kept = set(split_scopes(app_scopes)) - level_only
    return join_scopes(kept | set(wanted.scopes))
