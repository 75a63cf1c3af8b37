"""app.services.accounts: creating accounts, the rules for new passwords, and checking credentials."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.models import Account
from app.services.accounts import (
    WRONG_CREDENTIALS,
    check_credentials,
    check_new_password,
    create_account,
    username_key,
)
from app.services.errors import Invalid
from tests.factories import PASSWORD, make_account

USERNAME_RULE = "Usernames are 3 to 32 letters, digits, '.', '_' or '-'."


async def _create(app: Starlette, **fields: str | None) -> Account:
    values: dict[str, str | None] = {"username": "alice", "name": "Alice", "password": PASSWORD,
                                     "email": "alice@example.com", **fields}
    async with app.state.consentry.database.async_sessions() as db:
        return await create_account(db, username=str(values["username"]), name=str(values["name"]),
                                    password=str(values["password"]), email=values["email"])


async def _account_count(app: Starlette) -> int:
    async with app.state.consentry.database.async_sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(Account)) or 0)


def _check(app: Starlette, username: str, password: str) -> Account:
    with app.state.consentry.database.sync_autocommit_engine.connect() as connection:
        return check_credentials(connection, username=username, password=password)


@pytest.mark.parametrize(("fields", "message", "field"), [
    ({"username": "al"}, USERNAME_RULE, "username"),
    ({"username": "a" * 33}, USERNAME_RULE, "username"),
    ({"username": "alice smith"}, USERNAME_RULE, "username"),
    ({"username": "alicé"}, USERNAME_RULE, "username"),
    ({"name": "A" * 129}, "Names are at most 128 characters of text.", "name"),
    ({"name": "Ali\x00ce"}, "Names are at most 128 characters of text.", "name"),
    ({"email": "alice.example.com"}, "Give an email address of at most 254 characters.", "email"),
    ({"email": "a" * 250 + "@x.io"}, "Give an email address of at most 254 characters.", "email"),
    ({"password": "short"}, "Use at least 8 characters.", "password"),
    ({"password": "my name is alice!"}, "Your password must not contain your username.", "password"),
    ({"password": "Password123"}, "That password is too common. Choose one that is harder to guess.", "password"),
], ids=["short-username", "long-username", "space", "non-ascii", "long-name", "nul-in-name", "email-without-at",
        "long-email", "short-password", "password-with-username", "common-password"])
async def test_create_account_refuses_bad_input_with_a_message_for_its_field(
        app: Starlette, fields: dict[str, str], message: str, field: str) -> None:
    """Each invalid field raises ``Invalid`` naming that field with a message a person can act on, and no account
    is written."""
    with pytest.raises(Invalid) as error:
        await _create(app, **fields)
    assert (error.value.message, error.value.field) == (message, field)
    assert await _account_count(app) == 0


async def test_create_account_trims_and_fills_in_the_name(app: Starlette) -> None:
    """Surrounding spaces are dropped from the username, a blank name becomes the username, the email is optional,
    and the password is stored only as an argon2id hash."""
    account = await _create(app, username="  Alice.B  ", name="   ", email=None)
    assert (account.username, account.username_key, account.name, account.email) == ("Alice.B", "alice.b",
                                                                                      "Alice.B", None)
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash


async def test_usernames_are_unique_regardless_of_case(app: Starlette) -> None:
    """A username that differs from an existing one only in case is taken; the first account keeps the spelling
    it was created with and signs in under any case."""
    await _create(app, username="Alice")
    with pytest.raises(Invalid) as error:
        await _create(app, username="aLICE", email="other@example.com")
    assert (error.value.message, error.value.field) == ("That username is taken.", "username")
    assert await _account_count(app) == 1
    assert username_key(" ALICE\t") == "alice"
    account = await asyncio.to_thread(_check, app, " ALICE ", PASSWORD)
    assert account.username == "Alice"


@pytest.mark.parametrize(("password", "message"), [
    ("1234567", "Use at least 8 characters."),
    ("x" * 1025, "Use at most 1024 characters."),
    ("my BOB-password", "Your password must not contain your username."),
    ("SUNSHINE1", "That password is too common. Choose one that is harder to guess."),
])
def test_check_new_password_refuses_weak_passwords_on_the_given_field(password: str, message: str) -> None:
    """Too short, too long, containing the username (in any case) or on the common-password list (in any case):
    ``Invalid`` with the rule's message on the field the caller names."""
    with pytest.raises(Invalid) as error:
        check_new_password(password, username=" Bob ", field="newPassword")
    assert (error.value.message, error.value.field) == (message, "newPassword")


def test_check_new_password_accepts_a_long_uncommon_passphrase() -> None:
    """A passphrase of exactly 8 characters or of 1024 that avoids the username and the list passes."""
    for password in ("zq7!pLm2", "w" * 1024, PASSWORD):
        check_new_password(password, username="bob", field="password")


async def test_check_credentials_answers_every_miss_alike(app: Starlette) -> None:
    """The right password returns the account; a wrong password, an unknown username and a username with a NUL
    all raise the same ``Invalid``; a disabled account with the right password is told it is disabled."""
    created = await make_account(app)
    assert (await asyncio.to_thread(_check, app, "alice", PASSWORD)).id == created.id
    misses = []
    for username, password in (("alice", PASSWORD + "!"), ("nobody", PASSWORD), ("al\x00ice", PASSWORD)):
        with pytest.raises(Invalid) as error:
            await asyncio.to_thread(_check, app, username, password)
        misses.append((error.value.message, error.value.field))
    assert misses == [(WRONG_CREDENTIALS, "password")] * 3
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(Account).values(is_disabled=True))
        await db.commit()
    with pytest.raises(Invalid) as error:
        await asyncio.to_thread(_check, app, "alice", PASSWORD)
    assert (error.value.message, error.value.field) == ("This account is disabled.", "username")
    with pytest.raises(Invalid) as error:
        await asyncio.to_thread(_check, app, "alice", "wrong password")
    assert error.value.message == WRONG_CREDENTIALS  # a disabled account's password is not confirmed either
