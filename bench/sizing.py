"""Bytes per row of every table on PostgreSQL, for docs/operations.md's sizing table.

    .venv/bin/python -m bench.sizing [postgresql://postgres@127.0.0.1:5432/test]

Creates a scratch database beside the given one, migrates it to the newest schema, fills every table with rows
shaped like the app's own (digests of 64 hex characters, argon2id hashes, a browser's user agent, UUID keys in
random order, so the indexes split as they do in service), then prints each table's heap, index and total bytes
per row after VACUUM ANALYZE, and drops the database.
"""

from __future__ import annotations

import sys
import time
import uuid

import psycopg
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade_to_head

ROWS = {"accounts": 50_000, "apps": 200, "grants": 100_000, "login_sessions": 150_000,
        "authorization_requests": 50_000, "authorization_codes": 50_000, "oauth_tokens": 300_000}

_HEX = "encode(sha256((random()::text || i::text)::bytea), 'hex')"
_AGO = "now() - random() * interval '30 days'"
FILL = {
    "accounts": f"""
        INSERT INTO accounts (id, username, username_key, name, email, password_hash, is_disabled, created_at)
        SELECT gen_random_uuid(), 'user_' || i, 'user_' || i, 'Person Number ' || i, 'user_' || i || '@example.com',
               '$argon2id$v=19$m=65536,t=3,p=4$' || substr({_HEX}, 1, 22) || '$' || substr({_HEX}, 1, 43),
               false, {_AGO}
        FROM generate_series(1, %(n)s) AS i""",
    "apps": f"""
        INSERT INTO apps (id, client_id, client_secret_digest, name, description, website_url, icon_url,
                          developer_name, owner_id, redirect_uris, scopes, confidential, created_at)
        SELECT gen_random_uuid(), substr({_HEX}, 1, 24), {_HEX}, 'App ' || i, 'Posts and reads for you.',
               'https://app' || i || '.example.com', NULL, 'Developer ' || i, NULL,
               ('["https://app' || i || '.example.com/callback"]')::json,
               'tweet.read tweet.write users.read users.email offline.access', true, {_AGO}
        FROM generate_series(1, %(n)s) AS i""",
    # Every account connects two apps (the fill's 100,000 grants for 50,000 accounts).
    "grants": f"""
        INSERT INTO grants (id, account_id, app_id, scopes, authorized_at, last_used_at, revoked_at)
        SELECT gen_random_uuid(), a.id, p.id, 'tweet.read users.read offline.access', {_AGO}, {_AGO}, NULL
        FROM (SELECT id, row_number() OVER () AS n FROM accounts) AS a
        JOIN (SELECT id, row_number() OVER () AS n FROM apps) AS p ON p.n IN (a.n %% 200 + 1, (a.n + 7) %% 200 + 1)
        LIMIT %(n)s""",
    "login_sessions": f"""
        INSERT INTO login_sessions (id, account_id, token_digest, client_kind, ip_address, user_agent, device,
                                    browser, os, location, signed_in_at, last_active_at, revoked_at, revoked_reason)
        SELECT gen_random_uuid(), a.id, {_HEX}, 'web', '203.0.113.' || (i %% 250),
               'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
               || 'Chrome/126.0.0.0 Safari/537.36',
               'Windows PC', 'Chrome 126', 'Windows 10', 'Lisbon, Portugal', {_AGO}, {_AGO},
               CASE WHEN i %% 2 = 0 THEN now() END, CASE WHEN i %% 2 = 0 THEN 'logged_out' END
        FROM generate_series(1, %(n)s) AS i
        JOIN (SELECT id, row_number() OVER () AS n FROM accounts) AS a ON a.n = i %% 50000 + 1""",
    "authorization_requests": f"""
        INSERT INTO authorization_requests (id, session_id, account_id, app_id, redirect_uri, scopes, state,
                                            code_challenge, code_challenge_method, created_at, expires_at,
                                            decided_at, decision)
        SELECT gen_random_uuid(), s.id, s.account_id, g.app_id, 'https://app.example.com/callback',
               'tweet.read users.read offline.access', substr({_HEX}, 1, 32), substr({_HEX}, 1, 43), 'S256',
               {_AGO}, now(), now(), 'approved'
        FROM (SELECT id, account_id, row_number() OVER () AS n FROM login_sessions) AS s
        JOIN LATERAL (SELECT app_id FROM grants WHERE grants.account_id = s.account_id LIMIT 1) AS g ON true
        CROSS JOIN LATERAL (SELECT s.n AS i) AS x
        LIMIT %(n)s""",
    "authorization_codes": f"""
        INSERT INTO authorization_codes (id, code_digest, app_id, account_id, grant_id, redirect_uri, scopes,
                                         code_challenge, code_challenge_method, created_at, expires_at, used_at)
        SELECT gen_random_uuid(), {_HEX}, g.app_id, g.account_id, g.id, 'https://app.example.com/callback',
               g.scopes, substr({_HEX}, 1, 43), 'S256', {_AGO}, now(), now()
        FROM (SELECT *, row_number() OVER () AS i FROM grants) AS g
        LIMIT %(n)s""",
    # Three token rows per grant: the live one and two rotated ones, each with its refresh token.
    "oauth_tokens": f"""
        INSERT INTO oauth_tokens (id, grant_id, app_id, account_id, family_id, code_id, access_digest,
                                  refresh_digest, scopes, refresh_scopes, issued_at, access_expires_at,
                                  refresh_expires_at, refresh_used_at, revoked_at)
        SELECT gen_random_uuid(), g.id, g.app_id, g.account_id, gen_random_uuid(), gen_random_uuid(), {_HEX},
               {_HEX}, g.scopes, NULL, {_AGO}, now(), now() + interval '90 days',
               CASE WHEN i %% 3 <> 0 THEN now() END, NULL
        FROM generate_series(1, 3) AS i CROSS JOIN grants AS g
        ORDER BY random()
        LIMIT %(n)s""",
}

SIZES = """
    SELECT pg_relation_size(c.oid) + coalesce(pg_total_relation_size(c.reltoastrelid), 0), pg_indexes_size(c.oid),
           pg_total_relation_size(c.oid), (SELECT count(*) FROM {table})
    FROM pg_class AS c WHERE c.relname = '{table}'"""


def main(admin_url: str) -> None:
    admin = make_url(admin_url)
    name = f"consentry_sizing_{uuid.uuid4().hex[:8]}"
    plain = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_to_head(url)
        plain_db = admin.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
        with psycopg.connect(plain_db, autocommit=True) as conn:
            for table, statement in FILL.items():
                started = time.monotonic()
                conn.execute(statement, {"n": ROWS[table]})
                print(f"filled {table} in {time.monotonic() - started:.1f} s", file=sys.stderr)
            conn.execute("VACUUM ANALYZE")
            print(f"{'table':24} {'rows':>8} {'heap B/row':>11} {'index B/row':>12} {'total B/row':>12}")
            for table in FILL:
                heap, index, total, rows = conn.execute(SIZES.format(table=table)).fetchone() or (0, 0, 0, 0)
                print(f"{table:24} {rows:>8} {heap / rows:>11.0f} {index / rows:>12.0f} {total / rows:>12.0f}")
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test")
