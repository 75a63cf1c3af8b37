"""The result table (printed) and its JSON twin (written under bench/results/)."""

from __future__ import annotations

import json
import platform
import sqlite3
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import Row

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "uvloop", "httptools", "sqlalchemy",
            "aiosqlite", "asyncpg", "argon2-cffi")


def versions(sync_url: str, dialect: str) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        found[package] = version(package)
    wrk_banner = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    found["wrk"] = wrk_banner[1] if len(wrk_banner) > 1 else "?"
    if dialect == "sqlite":
        found["database"] = f"SQLite {sqlite3.sqlite_version}"
    else:
        engine = create_engine(sync_url)
        with engine.connect() as conn:
            found["database"] = str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
            found["database"] = "PostgreSQL " + found["database"]
        engine.dispose()
    return found


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def render(rows: list[Row], meta: dict[str, Any]) -> str:
    header = ("fig", "measure", "value", "reference", "unit", "ratio", "goal", "result", "note")
    lines = [tuple(header)]
    for row in rows:
        result = "n/a" if row.passed is None else ("PASS" if row.passed else "FAIL")
        lines.append((row.figure, row.metric, _number(row.value), _number(row.reference), row.unit,
                      "—" if row.ratio is None else f"{row.ratio:.2f}×", row.goal, result, row.note))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
           for line in lines]
    out.insert(1, "-+-".join("-" * width for width in widths))
    versions_line = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return "\n".join([f"Consentry benchmark — {meta['db']} — {meta['started']} — {meta['mode']}", *out, "",
                      "versions: " + versions_line, f"server: {meta['server']}", f"driver: {meta['driver']}"])


def write(rows: list[Row], meta: dict[str, Any]) -> Path:
    """Write the run as ``<time>-<db>.json`` (kept on this machine, not in git) and as ``latest-<db>.json`` (the one
    that is committed, so the repository holds the newest figures without a file per run)."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps({"meta": meta, "rows": [asdict(row) for row in rows]}, indent=2) + "\n"
    path = RESULTS / f"{stamp}-{meta['db']}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS / f"latest-{meta['db']}.json").write_text(text, encoding="utf-8")
    return path
