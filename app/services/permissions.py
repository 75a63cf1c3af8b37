"""The permission catalogue: scope → title, description and kind, loaded from data.

The default mirrors X's OAuth 2.0 scopes; ``CONSENTRY_PERMISSION_CATALOG`` points at a platform's own file of the
same shape. The same entries feed the consent page, the settings page, GraphQL and the metadata document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from app.services.errors import Invalid

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "permissions" / "default.json"
KINDS = ("VIEW", "DO", "STAY_CONNECTED")
OFFLINE_ACCESS = "offline.access"


@dataclass(frozen=True)
class Permission:
    scope: str
    title: str
    description: str
    kind: str  # one of KINDS


@dataclass(frozen=True)
class AccessLevel:
    """A named bundle of scopes, as X's OAuth 1.0a apps chose one (Read; Read and Write; Read, Write and Direct
    Messages); an add-on (Email address) comes on top of any level."""

    name: str
    scopes: frozenset[str]
    add_on: bool = False


@dataclass(frozen=True)
class Catalog:
    permissions: tuple[Permission, ...]
    access_levels: tuple[AccessLevel, ...] = ()  # narrowest first
    # Derived in __post_init__; not part of a catalogue's identity.
    _by_scope: dict[str, Permission] = field(init=False, repr=False, compare=False)
    _groups: dict[str, PermissionGroups] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_scope", {p.scope: p for p in self.permissions})
        object.__setattr__(self, "_groups", {})

    @property
    def scopes(self) -> list[str]:
        return [p.scope for p in self.permissions]

    def get(self, scope: str) -> Permission | None:
        return self._by_scope.get(scope)

    def describe(self, scopes: str | list[str]) -> list[Permission]:
        """Known permissions for these scopes in catalogue order (unknown scopes are left out)."""
        wanted = set(split_scopes(scopes) if isinstance(scopes, str) else scopes)
        return [p for p in self.permissions if p.scope in wanted]

    def groups(self, scopes: str) -> PermissionGroups:
        """These scopes split the way every screen shows them: things the app can view, can do, and the rest.

        Remembered per scope string (the groups are immutable): grants repeat a handful of scope sets, and the
        settings page splits every one of them on every load. Bounded, as scope strings come from requests.
        """
        cache = self._groups
        found = cache.get(scopes)
        if found is None:
            if len(cache) >= GROUPS_CACHE_SIZE:
                cache.clear()
            permissions = tuple(self.describe(scopes))
            found = cache[scopes] = PermissionGroups(
                permissions=permissions,
                can_view=tuple(p for p in permissions if p.kind == "VIEW"),
                can_do=tuple(p for p in permissions if p.kind == "DO"),
                other=tuple(p for p in permissions if p.kind not in ("VIEW", "DO")),
                stays_connected=OFFLINE_ACCESS in split_scopes(scopes),
                access_levels=self._access_levels({p.scope for p in permissions if p.kind in ("VIEW", "DO")}),
            )
        return found

    def _access_levels(self, granted: set[str]) -> tuple[str, ...]:
        """The narrowest level that covers what was granted, then every add-on granted; nothing when no level
        says it truly. Levels were whole bundles (OAuth 1.0a) and grants here are scope by scope, so a level is
        named only when the grant holds something of it and of each level below it: an app that may read and
        send Direct Messages but not post is not "Read, Write and Direct Messages"."""
        add_ons = [level for level in self.access_levels if level.add_on]
        base = granted - {scope for level in add_ons for scope in level.scopes}
        names = [level.name for level in add_ons if granted & level.scopes]
        if not base:
            return tuple(names)
        below: frozenset[str] = frozenset()
        for level in (level for level in self.access_levels if not level.add_on):
            if not base & (level.scopes - below):
                return ()
            if base <= level.scopes:
                return (level.name, *names)
            below = level.scopes
        return ()

GROUPS_CACHE_SIZE = 1024


@dataclass(frozen=True)
class PermissionGroups:
    permissions: tuple[Permission, ...]
    can_view: tuple[Permission, ...]  # "Things this App can view"
    can_do: tuple[Permission, ...]  # "Things this App can do"
    other: tuple[Permission, ...]  # e.g. staying connected
    stays_connected: bool  # offline.access: the app holds a refresh token until access is revoked
    access_levels: tuple[str, ...] = ()  # e.g. ("Read and Write", "Email address"), shown with the app


def split_scopes(scopes: str | None) -> list[str]:
    """Space-separated scope string → unique scopes in their original order."""
    seen: dict[str, None] = {}
    for scope in (scopes or "").split():
        seen.setdefault(scope, None)
    return list(seen)


def join_scopes(scopes: list[str] | set[str]) -> str:
    return " ".join(sorted(set(scopes)))


def _parse(raw: dict[str, object], source: str) -> Catalog:
    entries = raw.get("permissions")
    if not isinstance(entries, list) or not entries:
        raise Invalid(f"{source}: 'permissions' must be a non-empty list")
    permissions = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
            raise Invalid(f"{source}: every permission needs scope, title, description and a kind in {KINDS}")
        permissions.append(
            Permission(
                scope=str(entry["scope"]),
                title=str(entry["title"]),
                description=str(entry["description"]),
                kind=str(entry["kind"]),
            )
        )
    return Catalog(permissions=tuple(permissions), access_levels=_parse_levels(raw.get("accessLevels", []), source,
                                                                             {p.scope for p in permissions}))


def _parse_levels(entries: object, source: str, known: set[str]) -> tuple[AccessLevel, ...]:
    if not isinstance(entries, list):
        raise Invalid(f"{source}: 'accessLevels' must be a list")
    levels = []
    for entry in entries:
        scopes = entry.get("scopes") if isinstance(entry, dict) else None
        if (not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(scopes, list)
                or not set(scopes) <= known):
            raise Invalid(f"{source}: every access level needs a name and a list of the catalogue's scopes")
        levels.append(AccessLevel(name=entry["name"], scopes=frozenset(scopes), add_on=bool(entry.get("addOn"))))
    return tuple(levels)


@lru_cache(maxsize=4)
def load_catalog(path: str | None = None) -> Catalog:
    """The catalogue at ``path`` (CONSENTRY_PERMISSION_CATALOG), or the default; ``Invalid`` naming the file when
    it cannot be read or is not a catalogue."""
    source = Path(path) if path else DEFAULT_CATALOG
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"cannot read the permission catalogue {source}: {exc}") from exc
    if not isinstance(raw, dict):
        raise Invalid(f"{source}: a permission catalogue is a JSON object with a 'permissions' list")
    return _parse(raw, str(source))
