"""Starlette requests as Authlib sees them.

Authlib is synchronous and runs in a worker thread, so the body is read on the event loop first and Authlib gets an
immutable snapshot: it never touches the Starlette request (or the request's AsyncSession) from the thread.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request
from starlette.datastructures import Headers, ImmutableMultiDict
from starlette.requests import Request

# Authlib refuses any non-https request URI. Our transport rule lives in Settings.validate() (production requires an
# https issuer, and TLS is usually terminated by a proxy, so the URL we see says http anyway); this loopback URI
# passes Authlib's check and the real URI is stored right after.
_TRANSPORT_CHECKED_ELSEWHERE = "http://localhost/"


@dataclass(frozen=True)
class RequestSnapshot:
    method: str
    uri: str
    headers: Headers
    query: ImmutableMultiDict[str, str]
    form: ImmutableMultiDict[str, str]
    json: dict[str, Any] | None = None

    @classmethod
    async def read(cls, request: Request) -> RequestSnapshot:
        form: ImmutableMultiDict[str, str] = ImmutableMultiDict()
        if request.method == "POST":
            try:
                raw = await request.form()
                # Text fields only: an uploaded file has no meaning at these endpoints.
                form = ImmutableMultiDict([(k, v) for k, v in raw.multi_items() if isinstance(v, str)])
            except Exception:  # noqa: BLE001 - a malformed body is the same as an empty one: invalid_request follows
                form = ImmutableMultiDict()
        return cls(
            method=request.method,
            uri=str(request.url),
            headers=Headers(raw=list(request.headers.raw)),
            query=ImmutableMultiDict(request.query_params.multi_items()),
            form=form,
        )


def parameter_problem(values: ImmutableMultiDict[str, str], *, once: bool) -> str | None:
    """Why these parameters cannot be taken, if so: a NUL character (no database stores one as text), or with
    ``once`` a parameter sent twice (RFC 6749 §3.2). The descriptions are fixed texts: RFC 6749 limits what an
    ``error_description`` may contain, and nothing of the request is echoed."""
    seen: set[str] = set()
    for key, value in values.multi_items():
        if "\x00" in key or "\x00" in value:
            return "Parameters must not contain NUL characters."
        if once and key in seen:
            return "Every parameter may be sent at most once."
        seen.add(key)
    return None


class _Payload(OAuth2Payload):
    def __init__(self, values: ImmutableMultiDict[str, str]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        # First value of each parameter; repeats are seen (and refused) through ``datalist``.
        first: dict[str, str] = {}
        for key, value in self._values.multi_items():
            first.setdefault(key, value)
        return first

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._values.multi_items():
            values[key].append(value)
        return values


class StarletteOAuth2Request(OAuth2Request):
    """GET parameters come from the query (authorization endpoint), POST ones from the body only (RFC 6749 §3.2)."""

    def __init__(self, snapshot: RequestSnapshot) -> None:
        super().__init__(method=snapshot.method, uri=_TRANSPORT_CHECKED_ELSEWHERE, headers=snapshot.headers)
        self.uri = snapshot.uri
        self.snapshot = snapshot
        self.payload = _Payload(snapshot.form if snapshot.method == "POST" else snapshot.query)

    @property
    def args(self) -> ImmutableMultiDict[str, str]:
        return self.snapshot.query

    @property
    def form(self) -> ImmutableMultiDict[str, str]:
        return self.snapshot.form


class _JsonPayload(JsonPayload):
    def __init__(self, data: dict[str, Any] | None) -> None:
        self._data = data or {}

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class StarletteJsonRequest(JsonRequest):
    def __init__(self, snapshot: RequestSnapshot) -> None:
        super().__init__(snapshot.method, snapshot.uri, snapshot.headers)
        self.payload = _JsonPayload(snapshot.json)
