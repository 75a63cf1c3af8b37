"""The suite's own set-up, as a new contributor meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_without_postgresql_stops_at_once_with_one_line() -> None:
    """With ``CI=true`` and PostgreSQL down, the run fails before any test with one line naming the server (it used
    to print hundreds of errors and tens of thousands of lines of tracebacks)."""
    env = {**os.environ, "CI": "true", "CONSENTRY_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:9/test"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/services"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "PostgreSQL at postgresql://postgres@127.0.0.1:9/test is required in CI and unreachable" in output
    assert "Traceback" not in output and len(output.splitlines()) < 10, output
