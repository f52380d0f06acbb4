"""The benchmark's own PostgreSQL database: created fresh each run, filled fast with plain SQL.

    reset()                     drop (forcing out connections) and create `authgate_bench`
    set_up_realm(env)           `authgate init` + `authgate apply bench/realm.yaml`, as an operator would
    fill_users(total, hash)     INSERT … SELECT generate_series up to `total` users, one fixed argon2id hash
    mint_refresh_tokens(...)    a pool of refresh tokens inserted directly, values derived from a counter
"""

from __future__ import annotations

import subprocess
from typing import Any

import psycopg

from bench.config import DATABASE, PG_ADMIN_URL, REALM, VENV_BIN


def _url(suffix: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DATABASE + suffix


def libpq_url(suffix: str = "") -> str:
    return _url(suffix)


def reset(suffix: str = "") -> None:
    """`suffix` names a second database beside the main one (authgate_bench_large)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}{suffix}" WITH (FORCE)'.encode())
        conn.execute(f'CREATE DATABASE "{DATABASE}{suffix}"'.encode())


def drop(suffix: str = "") -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}{suffix}" WITH (FORCE)'.encode())


def set_up_realm(env: dict[str, str]) -> None:
    for command in (["init", "--json"], ["apply", "--json", str(REALM)]):
        subprocess.run([str(VENV_BIN / "authgate"), *command], env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=300)


def query(sql: str, params: tuple[Any, ...] = (), suffix: str = "") -> list[tuple[Any, ...]]:
    with psycopg.connect(_url(suffix), autocommit=True) as conn:
        cursor = conn.execute(sql.encode(), params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def user_count(suffix: str = "") -> int:
    return int(query("SELECT count(*) FROM users", suffix=suffix)[0][0])


def fill_users(total: int, password_hash: str, suffix: str = "") -> int:
    """Add users `fill-0000001`… until the table holds `total`; returns how many were added."""
    have = user_count(suffix)
    if have >= total:
        return 0
    first = int(query("SELECT count(*) FROM users WHERE username LIKE 'fill-%%'", suffix=suffix)[0][0]) + 1
    added = total - have
    query(
        "INSERT INTO users (username, subject, email, email_verified, name, password_hash, disabled, created_at, "
        "updated_at) "
        "SELECT 'fill-' || lpad(g::text, 7, '0'), gen_random_uuid()::text, 'fill-' || g || '@bench.example', false, "
        "'Fill User ' || g, "
        "%s, false, now(), now() FROM generate_series(%s::int, %s::int) AS g",
        (password_hash, first, first + added - 1), suffix,
    )
    query("VACUUM ANALYZE users", suffix=suffix)
    return added


def mint_refresh_tokens(prefix: str, start: int, count: int, *, username: str, client_id: str,
                        audience: str, scope: str) -> None:
    """Refresh tokens `{prefix}{n:09d}` for n in [start, start+count), stored as the server stores them.

    Same row shape as RefreshTokens.issue: SHA-256 hex digest of the value, a family per token,
    30-day family and 14-day idle expiry. The values are long (the prefix carries 128 random bits).
    """
    query(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, audience, scope, auth_time, "
        "created_at, expires_at, family_expires_at) "
        "SELECT encode(sha256(convert_to(%s || lpad(g::text, 9, '0'), 'UTF8')), 'hex'), "
        "md5(%s || g::text), %s, u.id, %s, %s, now(), now(), now() + interval '14 days', now() + interval '30 days' "
        "FROM generate_series(%s::int, %s::int) AS g, (SELECT id FROM users WHERE username = %s) AS u",
        (prefix, prefix, client_id, audience, scope, start, start + count - 1, username),
    )
    query("ANALYZE refresh_tokens")
