"""The account's security timeline: one append-only row per thing that happened to the account.

Rows are only ever inserted (in the same transaction as the change they record) and, once older than
``CONSENTRY_SECURITY_EVENT_DAYS``, deleted by ``purge-expired``; nothing updates them. So ``session_id`` and
``app_id`` carry no foreign key: a purged session or a deleted app must not rewrite history, and what the timeline
says of them (device, browser, place, the app's name) is copied into the row when it is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.base import timestamp, uuid_pk


class SecurityEvent(SQLModel, table=True):
    __tablename__ = "security_events"
    __table_args__ = (
        # The timeline, newest first, and the sign-in history a new sign-in is compared with.
        Index("ix_security_events_account_at", "account_id", "at", "id"),
        Index("ix_security_events_account_kind_device", "account_id", "kind", "device_key"),
    )

    id: uuid.UUID = uuid_pk()
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)
    at: datetime = timestamp(default_now=True, index=True)  # purge-expired walks it
    session_id: uuid.UUID | None = Field(default=None)  # the session that did it (a sign-in: the one it opened)
    app_id: uuid.UUID | None = Field(default=None)
    device: str | None = Field(default=None, max_length=128)
    browser: str | None = Field(default=None, max_length=128)
    os: str | None = Field(default=None, max_length=128)
    location: str | None = Field(default=None, max_length=128)
    ip_address: str | None = Field(default=None, max_length=45)  # shown masked unless asked for in full
    # Device, browser and system without versions: what "a device this account signed in from before" compares.
    device_key: str | None = Field(default=None, max_length=200)
    is_new_device: bool = Field(default=False)
    is_new_country: bool = Field(default=False)
    # Counts, scopes and names only (never a token, password or digest): what the words of the event need.
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
