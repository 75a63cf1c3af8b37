"""argon2id hashing. Every hash and verify runs in a worker thread: they take tens of milliseconds of CPU."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.db.engines import PASSWORD_THREADS

T = TypeVar("T")

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 as the minimum configuration.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the username is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("consentry-dummy-password-for-timing")

# argon2 gets threads of its own, one per core: a burst of sign-ins queues here (each hash holds 19 MiB) instead of
# filling the thread pools that Authlib and the rest of the app use.
_ARGON2_THREADS = ThreadPoolExecutor(max_workers=PASSWORD_THREADS, thread_name_prefix="argon2")


async def in_password_thread(work: Callable[..., T], *args: object) -> T:
    """Run ``work`` in one of the password threads, with the caller's context (its request ID for the logs)."""
    return await asyncio.get_running_loop().run_in_executor(
        _ARGON2_THREADS, contextvars.copy_context().run, work, *args)


async def hash_password(password: str) -> str:
    return await in_password_thread(_hasher.hash, password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; ``None`` as the hash burns the same time and answers False. Blocking: call
    it in a password thread (``in_password_thread``), never on the event loop."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """``verify`` in a password thread."""
    return await in_password_thread(verify, password_hash, password)
