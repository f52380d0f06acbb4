"""Fixed prose for results.md: how each benchmark is set up, and what is known about each miss.

The numbers in results.md come from the run; these texts say what does not change between runs.
"""

from __future__ import annotations

NOTES = {
    "client_credentials_setup": (
        "Both sides: one confidential client `bench` with `client_secret_basic`, `grant_type=client_credentials"
        "&scope=read`, a JWT access token signed ES256 (RFC 9068 shape) for `https://api.example`. The peer is "
        "node `oidc-provider` 9.13.3 as in shared/peers (`cluster.js PORT 2`, `NODE_ENV=production`, in-memory "
        "adapter — JWT access tokens are not stored). authgate checks the secret against its SHA-256 digest, reads "
        "the client from its in-process cache, signs, and queues the `token.issued` audit event (written in batches)."
    ),
    "introspection_setup": (
        "authgate introspects its own JWT access tokens (signature, expiry, issuer, and the revoked-`jti` list "
        "the token service mirrors in memory; the cost breakdown lists any database round trips). oidc-provider refuses to introspect JWT access tokens "
        "(`unsupported_token_type: Structured JWT Tokens cannot be introspected`), so for this comparison it runs "
        "with opaque access tokens stored in Redis (bench/peers/oidc-provider/redis_adapter.js; its in-memory "
        "adapter is per process, so the second worker would not know the first one's tokens): each introspection "
        "is one Redis GET. Each side introspects 256 of its own active tokens in turn, authenticated as `bench`."
    ),
    "refresh_setup": (
        "No peer ran this one: oidc-provider issues refresh tokens only through the authorization-code flow "
        "with a user's login and consent. Refresh tokens rotate, so every request presents a token never used "
        "before: the runner inserts a pool straight into `refresh_tokens` (the row shape RefreshTokenStore.issue "
        "writes: SHA-256 digest, own family, 14-day idle / 30-day absolute expiry) for the first-party client "
        "`bench-app` and the user `bench-user`, a fresh range per run sized from the warm-up rate, and the wrk "
        "script walks through the range, one token per request. Each request is a full rotation: find the row, "
        "check the user, claim the row (`UPDATE … WHERE rotated_at IS NULL`), insert the successor, recompute "
        "the user's permissions, sign an access token."
    ),
    "password_setup": (
        "`grant_type=password` for `bench-user` with the right password through the first-party client "
        "`bench-app` (which also gets a refresh token), so the brute-force throttle sees no failure and never "
        "trips; its thresholds were left at their defaults. `authgate-1k` is the main server (1,000 users); "
        "`authgate-1m` is a second `authgate serve --workers 2` on a second database filled to 1,000,000 users "
        "with `INSERT … SELECT generate_series` and one fixed argon2id hash; `argon2-raw` is `bench/argon2_rate.py`: "
        "two processes calling argon2-cffi's `PasswordHasher.verify` in a loop at the same parameters. The three "
        "alternate run by run, so they see the same machine."
    ),
    "memory_setup": (
        "RSS is VmRSS from /proc/PID/status of each uvicorn worker process (not the supervisor), sampled every "
        "250 ms during each phase; the peak is reported. The peer's figure is for its node cluster workers."
    ),
    "costs_setup": (
        "`bench/costs.py` runs in its own process against the same database and drives the real ASGI app "
        "(routing, endpoint, response; no socket, no uvicorn, no HTTP parsing) one request at a time, and reads "
        "CPU time (`time.process_time`). CPU time per request moves far less than req/s when other work shares "
        "the cores, so this is the figure to read on a shared machine. *The 2 cores' limit* is 2,000 ms ÷ that "
        "cost: what the app could do with both cores to itself and nothing else (no HTTP server, no PostgreSQL, "
        "no load generator). Round trips are counted by wrapping psycopg; `;` is SQLAlchemy's `pool_pre_ping`."
    ),
    "miss_client_credentials": (
        "Why: the grant itself is small (client from the in-process cache, SHA-256 of the secret, one ES256 "
        "signature, no database when warm), so the ratio is decided by fixed per-request cost and by stalls. "
        "On this shared machine req/s mostly measures how much CPU each side got (see 'CPU during the measured "
        "runs' above); the CPU-per-grant row in the headline is the steadier comparison. Stalls the profile "
        "shows (hotspots below): (1) the signing-key reload (`KeyStore._refresh`, every 5 s per worker, under "
        "the store's lock; `load_ahead` makes every thread that arrives meanwhile wait for it) re-decrypts and "
        "re-parses every key, and parsing the RS256 key with validation costs tens of milliseconds (cost "
        "breakdown) — keep parsed keys by kid (they never change for a kid), or pass "
        "`unsafe_skip_rsa_key_validation=True` for keys this server generated and AES-GCM authenticates; "
        "(2) client-record reloads (`ClientDirectory.get` → `_load` when its 2 s cache expires): every request "
        "in flight at expiry misses and reloads from the database at once; one reload per expiry (single-flight, "
        "others keep the old record until it is back) removes the herd. The rest is uvicorn + Starlette and "
        "PyJWT's `jwt.encode` (JSON, base64url, signature) per request."
    ),
    "miss_introspection": (
        "Why: 8,000 req/s on 2 cores leaves 0.25 ms of CPU per request for everything, and wrk itself takes a "
        "share of the same cores. Compare the app's in-process cost (cost breakdown) with the server's CPU per "
        "request under wrk: the difference is uvicorn's HTTP handling and the event loop, a fixed cost of every "
        "Python request that the app cannot remove. Per request CPU is what to compare with the peer here "
        "(headline): req/s on this shared machine mostly says how many cores the other tenants left. Parts still "
        "removable in the app: `AccessTokens.verify` (used when a token is not already cached) parses the token "
        "twice — `jwt.get_unverified_header` then `jwt.decode` — each time testing every character in a Python "
        "generator; `authgate.guard.jws.StrictJWS` does the same check with `bytes.translate` (cost breakdown: "
        "'JWT verification alone', as is vs fast base64url check). Stalls: where the hotspots below show "
        "`ClientDirectory._load`, `KeyStore.load_ahead`/`_refresh` or `RevocationList.refresh`, request threads "
        "are reloading (or waiting on the lock of) an in-process cache whose short TTL expired; under load every "
        "request in flight at expiry does it. Refreshing each cache from one background thread per worker (or "
        "single-flight, serving the previous snapshot meanwhile) keeps that work off the request path."
    ),
    "miss_refresh": (
        "Why: each rotation is a chain of ORM round trips (listed in the cost breakdown: pre-ping, find the row, "
        "BEGIN, load the user, claim the row, insert the successor, recompute permissions, COMMIT) and every "
        "one of them pays SQLAlchemy ORM + psycopg Python overhead — a single `reader()` + ORM select costs about "
        "ten times the CPU of the same query sent once with psycopg (cost breakdown). The app's CPU per refresh "
        "alone puts the 2-core limit below the target before HTTP and PostgreSQL take their share. What would "
        "reach it: rotate in one statement (a CTE that claims the row with `UPDATE … WHERE rotated_at IS NULL "
        "RETURNING`, inserts the successor from it and returns the user's permissions) sent with SQLAlchemy Core "
        "or psycopg directly, in one transaction without `pool_pre_ping` (the outage handling already turns a dead "
        "connection into 503 and recovers): 1–2 round trips instead of 8, and a few tenths of a millisecond of "
        "driver CPU instead of several milliseconds of ORM."
    ),
    "miss_cc_cpu": (
        "Why: see the client-credentials miss above; this row compares CPU spent per grant by each server's "
        "worker processes during the same interleaved runs."
    ),
    "miss_password": (
        "Why: a password login spends CPU beyond its one argon2id verification — five short transactions "
        "(throttle check, the user check with audit event and `last_login_at`, clearing the throttle pair, "
        "then permissions and the refresh token), each paying ORM overhead and a pre-ping (round trips listed in "
        "the cost breakdown, which also gives the contention-free ceiling: argon2 CPU ÷ login CPU). To reach 90% "
        "the work around argon2 must fall to about a tenth of it: read throttle state, user and roles in one "
        "query before hashing, and write audit + `last_login_at` + throttle clear + refresh token in one "
        "transaction after it. On a shared machine the raw argon2 runs also get a different share of the cores "
        "than the server runs next to them, which widens the gap in the wrk figure."
    ),
    "miss_login_latency": (
        "Why: the user lookup is one unique-index probe on `users.username` whether the table holds 1,000 or "
        "1,000,000 rows (a B-tree one level deeper), and argon2id dominates the latency; a p99 over a few hundred "
        "logins per run is decided by scheduling noise, mostly other processes on the shared cores. Compare p50, "
        "and the per-run figures."
    ),
    "miss_memory": (
        "Why: a worker starts at about 125 MB (imports: SQLAlchemy, pydantic, cryptography, psycopg, Starlette, "
        "zxcvbn's word lists, the app), and every concurrent argon2id verification needs 19 MiB. glibc raises its "
        "mmap threshold after the first such block is freed, so later ones come from per-thread malloc arenas "
        "and stay resident (cost breakdown: what a process keeps after 4 × 4 verifications, as is and with "
        "`MALLOC_MMAP_THRESHOLD_=131072`). Fix: set `MALLOC_MMAP_THRESHOLD_=131072` in the "
        "environment `authgate serve` passes to its workers (cli/setup.py `_prepare_and_serve`, before "
        "`uvicorn.run`; spawned workers inherit it) and bound concurrent verifications per worker with a "
        "semaphore (accounts/passwords.py `PasswordHasher.verify`/`burn`, e.g. one per core the worker can use): "
        "the peak is then the base plus one or two 19 MiB blocks. Import zxcvbn lazily (only password changes "
        "need it)."
    ),
    "miss_guard_fresh": (
        "Why: on fresh tokens both sides do one ES256 verification in OpenSSL, which is most of the cost; the "
        "guard saves the key lookup and PyJWT's Python-level parsing around it. Its margin shrinks when the "
        "machine is busy (the OpenSSL part slows alike). See bench/guard_bench.py's output above."
    ),
    "setup": (
        "- Server: `authgate serve --host 127.0.0.1 --port P --workers 2` with AUTHGATE_DATABASE_URL="
        "postgresql+psycopg://postgres@127.0.0.1:5432/authgate_bench (dropped and created at the start, "
        "dropped again at the end unless `--keep-db`), a freshly generated AUTHGATE_MASTER_KEY, realm from "
        "`authgate init` + `authgate apply bench/realm.yaml`.\n"
        "- argon2id: {argon2}. Brute-force thresholds (unchanged defaults): {lockout}.\n"
        "- Logging: {log_level}. Redis: {redis}. Client cache: {client_cache} s.\n"
        "- Peer: bench/peers/oidc-provider (copied from shared/peers, installed by the runner with `npm ci`).\n"
        "- Raw data of this run: bench/out/results.json; logs and raw profiles: bench/out/ (not committed)."
    ),
}
