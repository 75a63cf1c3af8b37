"""Structured JSON logs with a request ID per request, and no secret in any of them.

Every request gets an ID (the caller's ``X-Request-ID`` when it is a plain token, otherwise a new one) that is sent
back in the ``X-Request-ID`` response header and stamped on every log record written while the request runs. The
access line records method, path (never the query string: codes, states and misplaced tokens travel there),
status and duration. Records are scrubbed on the way out: fields named like secrets are replaced, and
``password=…``, ``token: …``, ``Bearer …`` and cookie values inside messages and tracebacks are masked.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REDACTED = "[redacted]"
REQUEST_ID_HEADER = "X-Request-ID"
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("consentry_request_id", default=None)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_SECRET_NAME = re.compile(r"pass(word)?|secret|token|code|cookie|authorization|session|verifier|credential",
                          re.IGNORECASE)
_SECRET_IN_TEXT = re.compile(
    r"(?P<key>\b[\w-]*(?:pass(?:word)?|secret|token|code|cookie|authorization|verifier)[\w-]*\b[\"']?\s*[=:]\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&)}\]]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# A word one of the two patterns above needs. Most texts (every access line) have none, and one search for it
# costs less than the two substitutions.
_MAY_HOLD_SECRET = re.compile(r"pass|secret|token|code|cookie|authorization|verifier|bearer|basic", re.IGNORECASE)
# Fields every LogRecord has; anything else on a record came from ``extra=`` and is logged as a field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_HANDLER_MARK = "_consentry_json"
# Fields other libraries put on their records that are not for a JSON line: uvicorn's copy of its message with ANSI
# colour escapes.
_DROPPED_FIELDS = frozenset({"color_message"})
# Loggers that say at INFO what nobody operating the service needs (SQLAlchemy pools announce "Pool disposed" and
# "Pool recreating" at every shutdown); their warnings and errors still come through.
_QUIET_LOGGERS = ("sqlalchemy.pool", "app.db.pool")


def current_request_id() -> str | None:
    return _request_id.get()


def scrub(text: str) -> str:
    """Mask secret-looking ``name=value`` pairs and Authorization credentials inside free text."""
    if _MAY_HOLD_SECRET.search(text) is None:
        return text
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group('key')}{REDACTED}", text)


@functools.lru_cache(maxsize=256)
def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def _field(name: str, value: Any) -> Any:
    if _secret_name(name):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return scrub(repr(value))


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """A handler writing to whatever ``sys.stderr`` is when a record comes. A handler that kept the stream it was
    made with wrote to a closed file once that stream was swapped and closed (pytest's capture does both), and
    Python printed "--- Logging error ---" with a traceback at exit."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass  # StreamHandler's own __init__ and setStream assign it; the current sys.stderr always wins


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and name not in _DROPPED_FIELDS and name != "request_id" \
                    and not name.startswith("_"):
                entry[name] = _field(name, value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the app and uvicorn. Idempotent. Uvicorn's own access log is switched off: it
    prints query strings, and RequestContextMiddleware writes a safer access line."""
    # The logging module's documented optimizations: none of these is in our lines, and finding the caller walks the
    # stack on every record (the access line is written on every request).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    if not any(getattr(handler, _HANDLER_MARK, False) for handler in root.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(JsonFormatter())
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    access.disabled = True
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(existing, _AlembicSetupNoise) for existing in migration.filters):
        migration.addFilter(_AlembicSetupNoise())


class _AlembicSetupNoise(logging.Filter):
    """Alembic announces its dialect ("Context impl PostgresqlImpl.", "Will assume transactional DDL.") every time
    it reads the schema's revision, which ``/readyz`` does on every probe; what it ran ("Running upgrade …") stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return not (message.startswith("Context impl") or message.startswith("Will assume"))


# nginx's "client closed request": the client went away before its request was read, so nobody got an answer.
CLIENT_CLOSED_REQUEST = 499


class RequestContextMiddleware:
    """Assign the request ID, echo it in ``X-Request-ID``, and write one access line per request.

    A client that disconnects before its whole request body has arrived (a phone losing signal, a load generator
    stopping) is not a server error: its line says 499 and nothing else is logged, where it used to be a 500 line
    and uvicorn's "Exception in ASGI application" with a traceback.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("consentry.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            if responded:
                raise
            status = CLIENT_CLOSED_REQUEST
        finally:
            client = scope.get("client")
            self.log.info("%s %s %s", scope["method"], scope["path"], status, extra={
                "method": scope["method"], "path": scope["path"], "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "client_ip": client[0] if client else None,
            })
            _request_id.reset(token)
