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
    # Named only when true of each step: Direct Messages without posting is not "Read, Write and …".
    ("users.read dm.read dm.write users.email", ()),
    ("like.write", ()),  # writing without reading is not "Read and Write" either
    ("users.read users.email", ("Read", "Email address")),
    ("users.email offline.access", ("Email address",)),
    ("offline.access", ()),
])
def test_the_narrowest_level_that_covers_the_permissions_then_add_ons(scopes: str, levels: tuple[str, ...]) -> None:
    assert load_catalog().groups(scopes).access_levels == levels


def _catalog(tmp_path: Path, **extra: object) -> str:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"permissions": [
        {"scope": "read", "kind": "VIEW", "title": "Read", "description": "Read things."},
        {"scope": "write", "kind": "DO", "title": "Write", "description": "Write things."}], **extra}))
    return str(path)


def test_a_catalogue_without_levels_shows_none(tmp_path: Path) -> None:
    assert load_catalog(_catalog(tmp_path)).groups("read write").access_levels == ()


def test_scopes_outside_every_level_show_no_level(tmp_path: Path) -> None:
    catalog = load_catalog(_catalog(tmp_path, accessLevels=[{"name": "Viewer", "scopes": ["read"]}]))
    assert catalog.groups("read").access_levels == ("Viewer",)
    assert catalog.groups("read write").access_levels == ()


@pytest.mark.parametrize("levels", [
    "nope", [{"name": "Viewer"}], [{"name": "Viewer", "scopes": ["unknown.scope"]}], [{"scopes": ["read"]}]])
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
