"""The permission catalogue: which access level a set of permissions amounts to, and what a catalogue may say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.services.errors import Invalid
from app.services.permissions import load_catalog


@pytest.mark.parametrize(("scopes", "levels"), [
    ("tweet.read users.read offline.access", ("Read",)),
    ("tweet.read tweet.write", ("Read and Write",)),
    ("tweet.read tweet.write dm.read dm.write", ("Read, Write and Direct Messages",)),
    # The most sensitive thing the app can do is always named: Direct Messages without posting is still the
    # level that allows Direct Messages (the demo's "Inbox Zero for DMs" showed no level at all).
    ("users.read dm.read dm.write users.email", ("Read, Write and Direct Messages", "Email address")),
    ("dm.read", ("Read, Write and Direct Messages",)),
    ("like.write", ("Read and Write",)),  # writing without reading still writes
    # X Ads add-ons form a family of their own: management includes analytics.
    ("users.read ads.read", ("Read", "X Ads: Analytics")),
    ("ads.read ads.write", ("X Ads: Campaign and account management",)),
    ("ads.write", ("X Ads: Campaign and account management",)),
    ("users.read users.email", ("Read", "Email address")),
    ("users.email offline.access", ("Email address",)),
    ("offline.access", ()),
])
def test_the_narrowest_level_that_covers_the_permissions_then_add_ons(scopes: str, levels: tuple[str, ...]) -> None:
    """Each family of levels names the narrowest level covering what was granted of it: main level, then add-ons."""
    assert load_catalog().groups(scopes).access_levels == levels


def _catalog(tmp_path: Path, **extra: object) -> str:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"permissions": [
        {"scope": "read", "kind": "VIEW", "title": "Read", "description": "Read things."},
        {"scope": "write", "kind": "DO", "title": "Write", "description": "Write things."}], **extra}))
    return str(path)


def test_a_catalogue_without_levels_shows_none(tmp_path: Path) -> None:
    """A platform catalogue without access levels names none."""
    assert load_catalog(_catalog(tmp_path)).groups("read write").access_levels == ()


def test_scopes_outside_every_level_show_no_level(tmp_path: Path) -> None:
    """A level that would say less than the app can do is not named: the permission lists say it all."""
    catalog = load_catalog(_catalog(tmp_path, accessLevels=[{"name": "Viewer", "scopes": ["read"]}]))
    assert catalog.groups("read").access_levels == ("Viewer",)
    assert catalog.groups("read write").access_levels == ()


@pytest.mark.parametrize("levels", [
    "nope", [{"name": "Viewer"}], [{"name": "Viewer", "scopes": ["unknown.scope"]}], [{"scopes": ["read"]}],
    [{"name": "Viewer", "scopes": ["read"], "details": [{"kind": "MAYBE", "title": "T", "description": "D"}]}],
    [{"name": "Viewer", "scopes": ["read"]}, {"name": "Viewer", "scopes": ["write"]}]])
def test_a_malformed_level_names_the_file(tmp_path: Path, levels: object) -> None:
    path = _catalog(tmp_path, accessLevels=levels)
    with pytest.raises(Invalid, match=r"catalog\.json"):
        load_catalog(path)


def test_an_unreadable_catalogue_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=r"missing\.json"):
        load_catalog(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(Invalid, match=r"broken\.json"):
        load_catalog(str(broken))


def test_the_default_levels_describe_every_area_of_the_reference() -> None:
    """Each OAuth 1.0a level of the default catalogue says, area by area, what it allows; a level includes the
    areas of the levels below it, and add-ons add their own."""
    catalog = load_catalog()
    read_write = catalog.level("read-write")
    assert read_write is not None and read_write.name == "Read and Write"
    areas = ["Profile information", "Posts", "Account settings", "Other accounts", "Lists", "Collections"]
    described = catalog.describe_levels(" ".join(read_write.scopes | {"users.email"}))
    assert described.names == ("Read and Write", "Email address")
    assert [d.title for d in described.can_view] == [*areas, "Email"]
    assert [d.title for d in described.can_do] == areas
    dm = catalog.describe_levels(" ".join(catalog.level("read-write-dm").scopes))  # type: ignore[union-attr]
    assert "Direct Messages" in [d.title for d in dm.can_view] and "Direct Messages" in [d.title for d in dm.can_do]
    ads = catalog.describe_levels("ads.read ads.write")
    assert ads.names == ("X Ads: Campaign and account management",)
    assert [d.title for d in ads.can_view] == ["Ads"] and [d.title for d in ads.can_do] == ["Ads"]


def test_a_custom_catalogue_describes_its_own_levels(tmp_path: Path) -> None:
    """A platform's catalogue can name and describe levels of its own, with keys for registration."""
    catalog = load_catalog(_catalog(tmp_path, accessLevels=[
        {"key": "viewer", "name": "Viewer", "scopes": ["read"],
         "details": [{"kind": "VIEW", "title": "Things", "description": "See your things."}]},
        {"key": "editor", "name": "Editor", "scopes": ["read", "write"], "xAuthAccessType": "write",
         "details": [{"kind": "DO", "title": "Things", "description": "Change your things."}]}]))
    editor = catalog.level("editor")
    assert editor is not None and editor.x_auth_access_type == "write"
    described = catalog.describe_levels("read write")
    assert described.names == ("Editor",)
    assert [d.description for d in described.can_view] == ["See your things."]
    assert [d.description for d in described.can_do] == ["Change your things."]
