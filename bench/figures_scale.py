"""G6: the page must not slow down as the tables grow (PostgreSQL): p50 at 100,000 accounts / 1,000,000 tokens
vs at 1,000 accounts / 10,000 tokens.

Filler rows are generated inside PostgreSQL with ``generate_series`` (a million token rows take well under a
minute); every filler account gets 2 grants with 5 live tokens each and 2 live sessions, spread over the same apps
the measured account uses, so the indexes really have to pick one account's rows out of many.
"""

from __future__ import annotations

import statistics
import time

import psycopg

from bench.common import Bench, Row, spread
from bench.dataset import PAGE_SCOPES
from bench.figures_page import check_page_equality, page_requests
from bench.load import checked, wrk

BATCH = 10_000
_APP_NUMBERS = ("CREATE TEMP TABLE IF NOT EXISTS bench_app_numbers AS SELECT id, "
                "(row_number() OVER (ORDER BY client_id)) - 1 AS n FROM apps WHERE client_id LIKE 'bench-%'")
# Four statements, run one by one (a prepared statement holds one command).
_BATCH = """
INSERT INTO accounts (id, username, username_key, name, password_hash, is_disabled, created_at)
SELECT gen_random_uuid(), 'filler' || i, 'filler' || i, 'Filler ' || i, 'not-a-hash', false, now()
FROM generate_series(%(lo)s::int, %(hi)s::int) AS i;

INSERT INTO grants (id, account_id, app_id, scopes, authorized_at)
SELECT gen_random_uuid(), a.id, ap.id, %(scopes)s, now() - (i %% 500) * interval '1 minute'
FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
JOIN accounts a ON a.username_key = 'filler' || i
CROSS JOIN generate_series(0, 1) AS k
JOIN bench_app_numbers ap ON ap.n = (i + 7 * k) %% (SELECT count(*) FROM bench_app_numbers);

INSERT INTO oauth_tokens (id, grant_id, app_id, account_id, family_id, access_digest, scopes, issued_at,
                          access_expires_at)
SELECT gen_random_uuid(), g.id, g.app_id, g.account_id, gen_random_uuid(),
       md5(g.id::text || ':' || t) || md5(t || ':' || g.id::text), g.scopes, now(), now() + interval '30 days'
FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
JOIN accounts a ON a.username_key = 'filler' || i
JOIN grants g ON g.account_id = a.id
CROSS JOIN generate_series(1, 5) AS t;

INSERT INTO login_sessions (id, account_id, token_digest, client_kind, device, signed_in_at, last_active_at)
SELECT gen_random_uuid(), a.id, md5(a.id::text || ':s' || s) || md5('s' || s || ':' || a.id::text), 'web',
       'Computer', now(), now()
FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
JOIN accounts a ON a.username_key = 'filler' || i
CROSS JOIN generate_series(1, 2) AS s;
"""


def fill(url: str, first: int, last: int) -> tuple[int, int, float]:
    """Add filler accounts ``first..last``; return (accounts, tokens) in the whole database and seconds taken."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(_APP_NUMBERS)
        for lo in range(first, last + 1, BATCH):
            for statement in _BATCH.split(";\n\n"):
                conn.execute(statement, {"lo": lo, "hi": min(last, lo + BATCH - 1), "scopes": PAGE_SCOPES})
            conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        # Write the fill's dirty pages out now: otherwise the checkpointer spreads them over the next minutes, the
        # very minutes the page is measured in, and the figure measures the bulk load's aftermath.
        conn.execute("CHECKPOINT")
        accounts = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]  # type: ignore[index]
        tokens = conn.execute("SELECT count(*) FROM oauth_tokens").fetchone()[0]  # type: ignore[index]
    return int(accounts), int(tokens), time.perf_counter() - started


def _page_p50(bench: Bench) -> list[float]:
    check_page_equality(bench)
    gql, _ = page_requests(bench)
    wrk(bench.base_url, gql, connections=8, seconds=bench.seconds(3, 1))
    return [checked(wrk(bench.base_url, gql, connections=1, seconds=bench.seconds(5, 2))).p50_ms
            for _ in range(1 if bench.quick else 3)]


def g6_scale(bench: Bench) -> list[Row]:
    if bench.dialect != "postgres":
        return [Row("G6", "page p50, 100k accounts / 1M tokens vs 1k / 10k", None, None, "ms", None, "≤ 1.2×",
                    None, "PostgreSQL only: run scripts/bench --db postgres")]
    small_size = 100 if bench.quick else 1_000
    large_size = 10_000 if bench.quick else 100_000
    url = bench.database_url
    small_accounts, small_tokens, _ = fill(url, 1, small_size)
    small = _page_p50(bench)
    large_accounts, large_tokens, seconds = fill(url, small_size + 1, large_size)
    large = _page_p50(bench)
    p50_small, p50_large = statistics.median(small), statistics.median(large)
    return [Row("G6", f"page p50 @ c=1, {large_accounts:,} accounts / {large_tokens:,} tokens vs "
                      f"{small_accounts:,} / {small_tokens:,}", p50_large, p50_small, "ms", p50_large / p50_small,
                "≤ 1.2×", p50_large / p50_small <= 1.2,
                "; ".join(filter(None, [f"filled in {seconds:.0f} s", spread(large) and f"large {spread(large)}",
                                        spread(small) and f"small {spread(small)}"])))]
