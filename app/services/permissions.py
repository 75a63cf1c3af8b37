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
class LevelDetail:
    """One area of an access level in the reference's terms ("Posts", "Lists"), and what the level allows there."""

    kind: str  # VIEW or DO
    title: str
    description: str


@dataclass(frozen=True)
class AccessLevel:
    """A named bundle of scopes, as OAuth 1.0a apps choose one for the whole app (Read; Read and Write; Read, Write
    and Direct Messages); an add-on (Email address, X Ads) comes on top of any level.

    Levels form families, each ordered narrowest first, each level including the ones before it: the main levels,
    then the add-ons of one ``group`` (X Ads: Analytics, then Campaign and account management); an add-on without a
    group is a family of its own. ``details`` say what this level adds to the one before it, area by area."""

    name: str
    scopes: frozenset[str]
    add_on: bool = False
    key: str = ""  # what registration names it by ("read-write"); the name when the catalogue gives none
    group: str | None = None
    details: tuple[LevelDetail, ...] = ()
    x_auth_access_type: str | None = None  # the ``x_auth_access_type`` value that asks for this level


@dataclass(frozen=True)
class LevelDescription:
    """What a set of scopes amounts to in levels: their names, and every area of them, split as screens show it."""

    names: tuple[str, ...]
    can_view: tuple[LevelDetail, ...]
    can_do: tuple[LevelDetail, ...]


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

    # --- access levels (OAuth 1.0a) -------------------------------------------------------------------------

    def families(self) -> tuple[tuple[AccessLevel, ...], ...]:
        """The main levels, then each add-on family, every one narrowest first (see ``AccessLevel``)."""
        grouped: dict[str, list[AccessLevel]] = {}
        for level in self.access_levels:
            if level.add_on:
                grouped.setdefault(level.group or f"\0{level.key}", []).append(level)
        main = tuple(level for level in self.access_levels if not level.add_on)
        return (main, *(tuple(family) for family in grouped.values()))

    def level(self, key: str) -> AccessLevel | None:
        return next((level for level in self.access_levels if level.key == key), None)

    def _access_levels(self, granted: set[str]) -> tuple[str, ...]:
        return tuple(level.name for level in self._named_levels(granted))

    def _named_levels(self, granted: set[str]) -> list[AccessLevel]:
        """Per family, the narrowest level that covers what was granted of it: a person always sees the most
        sensitive thing an app can do ("Read, Write and Direct Messages" for an app that may read and send Direct
        Messages, even without posting). The main levels say nothing when some of the grant lies outside all of
        them: naming one would say less than the app can do, and the permission lists say it all."""
        named: list[AccessLevel] = []
        add_on_scopes = {scope for level in self.access_levels if level.add_on for scope in level.scopes}
        for index, family in enumerate(self.families()):
            if not family:
                continue
            covered = frozenset().union(*(level.scopes for level in family))
            part = granted - add_on_scopes if index == 0 else granted & covered
            if not part or not part <= covered:
                continue
            level = next((level for level in family if part <= level.scopes), None)
            if level is not None:
                named.append(level)
        return named

    def describe_levels(self, scopes: str) -> LevelDescription:
        """The levels these scopes amount to, with every area of each (a level's own and those of the levels it
        includes), for the consent page of an OAuth 1.0a app."""
        granted = {p.scope for p in self.describe(scopes) if p.kind in ("VIEW", "DO")}
        named = self._named_levels(granted)
        details: list[LevelDetail] = []
        for family in self.families():
            for level in named:
                if level in family:
                    details.extend(d for below in family[:family.index(level) + 1] for d in below.details)
        return LevelDescription(names=tuple(level.name for level in named),
                                can_view=tuple(d for d in details if d.kind == "VIEW"),
                                can_do=tuple(d for d in details if d.kind == "DO"))

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
        details = entry.get("details", [])
        if not isinstance(details, list) or not all(
                isinstance(d, dict) and d.get("kind") in ("VIEW", "DO") and isinstance(d.get("title"), str)
                and isinstance(d.get("description"), str) for d in details):
            raise Invalid(f"{source}: an access level's details are objects with a kind (VIEW or DO), a title "
                          "and a description")
        access_type = entry.get("xAuthAccessType")
        levels.append(AccessLevel(
            name=entry["name"], scopes=frozenset(scopes), add_on=bool(entry.get("addOn")),
            key=str(entry.get("key") or entry["name"]),
            group=str(entry["group"]) if entry.get("group") else None,
            details=tuple(LevelDetail(kind=d["kind"], title=d["title"], description=d["description"])
                          for d in details),
            x_auth_access_type=str(access_type) if access_type else None,
        ))
    if len({level.key for level in levels}) != len(levels):
        raise Invalid(f"{source}: every access level needs a key (or name) of its own")
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
