"""Accounts: creation and password checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engines import transaction
from app.models import Account
from app.models.base import detached_from_row, table_of
from app.services import passwords
from app.services.common_passwords import is_common
from app.services.errors import Invalid
from app.services.text import is_unrepresentable

_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
MIN_PASSWORD_LENGTH = 8
MAX_NAME_LENGTH = 128  # the columns' lengths (app.models.account)
MAX_EMAIL_LENGTH = 254
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only keeps a request from hashing megabytes
WRONG_CREDENTIALS = "Incorrect username or password."
# Core, built once: every sign-in runs it, building an ORM statement costs more than running this one, and the
# account it finds is only read.
_accounts = table_of(Account)
_BY_USERNAME_KEY = select(_accounts).where(_accounts.c.username_key == bindparam("key"))


def username_key(username: str) -> str:
    return username.strip().lower()


async def create_account(
    db: AsyncSession, *, username: str, name: str, password: str, email: str | None = None
) -> Account:
    username = username.strip()
    if not _USERNAME.match(username):
        raise Invalid("Usernames are 3 to 32 letters, digits, '.', '_' or '-'.", field="username")
    name = name.strip() or username
    if len(name) > MAX_NAME_LENGTH or is_unrepresentable(name):
        raise Invalid(f"Names are at most {MAX_NAME_LENGTH} characters of text.", field="name")
    if email is not None and (len(email) > MAX_EMAIL_LENGTH or "@" not in email or is_unrepresentable(email)):
        raise Invalid(f"Give an email address of at most {MAX_EMAIL_LENGTH} characters.", field="email")
    check_new_password(password, username=username, field="password")
    account = Account(
        username=username,
        username_key=username_key(username),
        name=name,
        email=email,
        password_hash=await passwords.hash_password(password),
    )
    try:
        async with transaction(db):
            db.add(account)
    except IntegrityError as exc:
        raise Invalid("That username is taken.", field="username") from exc
    return account


def check_new_password(password: str, *, username: str, field: str) -> None:
    """Raise ``Invalid`` when a new password is too weak to accept (NIST SP 800-63B §5.1.1.2): too short or long,
    containing the username, or on the list of common passwords."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"Use at least {MIN_PASSWORD_LENGTH} characters.", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"Use at most {MAX_PASSWORD_LENGTH} characters.", field=field)
    if username.strip().lower() in password.lower():
        raise Invalid("Your password must not contain your username.", field=field)
    if is_common(password):
        raise Invalid("That password is too common. Choose one that is harder to guess.", field=field)


def check_credentials(connection: Connection, *, username: str, password: str) -> Account:
    """The account for these credentials, or ``Invalid`` with one message for every kind of miss.

    Blocking, on a sync connection: it runs in a password thread (``sessions.sign_in``). Unknown users still cost
    one argon2 verification, so timing does not tell which usernames exist.
    """
    account, _row = check_credentials_by(connection, lookup=_BY_USERNAME_KEY, params={}, username=username,
                                         password=password)
    return account


def check_credentials_by(connection: Connection, *, lookup: Select[Any], params: Mapping[str, Any], username: str,
                         password: str) -> tuple[Account, RowMapping]:
    """``check_credentials`` with the caller's ``lookup``: every column of the account's table, under their own
    names, and whatever else the caller reads in the same round trip (bound by ``params`` and ``:key``, the
    username's key). Returns the account and the whole row."""
    key = username_key(username)
    # A username no column could hold (a NUL: PostgreSQL refuses it) names nobody; it still costs a verify.
    row = None if is_unrepresentable(key) else connection.execute(lookup, {**params, "key": key}).first()
    account = None if row is None else detached_from_row(
        Account, {column.name: row._mapping[column.name] for column in _accounts.c})
    matches = passwords.verify(account.password_hash if account else None, password)
    if account is None or row is None or not matches:
        raise Invalid(WRONG_CREDENTIALS, field="password")
    if account.is_disabled:
        raise Invalid("This account is disabled.", field="username")
    return account, row._mapping
