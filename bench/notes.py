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
        "the token service mirrors in memory; the cost breakdown lists any database round trips). "
        "oidc-provider refuses to introspect JWT access tokens "
        "(`unsupported_token_type: Structured JWT Tokens cannot be introspected`), so for this comparison it runs "
        "with opaque access tokens stored in Redis (bench/peers/oidc-provider/redis_adapter.js; its in-memory "
        "adapter is per process, so the second worker would not know the first one's tokens): each introspection "
        "is one Redis GET. Each side introspects 256 of its own active tokens in turn, authenticated as `bench`."
    ),
    "refresh_setup": (
        "No peer ran this one: oidc-provider issues refresh tokens only through the authorization-code flow "
        "with a user's login and consent. Refresh tokens rotate, so every request presents a token never used "
        "before: the runner inserts a pool straight into `refresh_tokens` (the row shape RefreshTokens.issue "
        "writes: SHA-256 digest, own family, 14-day idle / 30-day absolute expiry) for the first-party client "
        "`bench-app` and the user `bench-user`, a fresh range per run sized from the warm-up rate, and the wrk "
        "script walks through the range, one token per request. Each request is a full rotation in one "
        "transaction: read the row locked (`SELECT … FOR UPDATE`) with its user and permissions, check every rule "
        "in Python, mark the row rotated and insert the successor (one statement), sign an access token."
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
        "no load generator). Round trips are counted by wrapping psycopg (each command and statement sent)."
    ),
    "miss_client_credentials": (
        "Why: the grant is small — client from the in-process cache, SHA-256 of the secret, one ES256 signature, "
        "the `token.issued` audit event queued (written in batches with COPY), no database round trip — and it runs "
        "on the event loop with no thread hand-off; the caches it needs are reloaded ahead of expiry by one "
        "background thread per worker (oauth2/warmer.py), so no request stalls on a reload any more (p99 fell "
        "from ~230 ms to ~20 ms). What is left is fixed per-request cost in Python (profile below): the signature "
        "through PyJWT (~70 µs, of which OpenSSL's ECDSA ~35 µs), uvicorn's HTTP handling and socket writes "
        "(~45 µs per request measured for an empty ASGI app under the same wrk load), Starlette's request/response "
        "objects, form parsing and JSON. node's oidc-provider does the same work in V8 at about the same cost per "
        "grant on this machine, so the 2× margin would need the HTTP layer and the JOSE serialization out of "
        "Python (a Rust/C HTTP server, or a hand-written JWS serializer — the latter was measured at only ~11 µs "
        "and refused as a second JOSE implementation). Compare the CPU-per-grant row: req/s on a shared machine "
        "also says how the cores were split between the two sides and wrk."
    ),
    "miss_introspection": (
        "Why: 8,000 req/s on 2 cores leaves 0.25 ms of CPU per request for everything, wrk included. authgate "
        "answers a warm introspection on the event loop from memory (client record, verified-token cache, the "
        "revoked-jti mirror, all kept warm by oauth2/warmer.py); what is left is uvicorn's HTTP handling and the "
        "JSON answer. See the CPU-per-request row and the profile below."
    ),
    "miss_refresh": (
        "Why: a rotation is one statement on PostgreSQL, in autocommit (no BEGIN, no COMMIT round trip): a CTE "
        "that claims the row with `UPDATE … WHERE rotated_at IS NULL … RETURNING` — the grant's refusals (wider "
        "OIDC scope, another audience, a disabled user) are part of the claim, so a refused refresh rotates "
        "nothing and takes the transaction path that names the error — inserts the successor and reads the "
        "user's permissions, through SQLAlchemy Core with the statement built once (prepared by psycopg). The "
        "runs leave about a quarter of the cores idle: each request waits for its commit's WAL flush (the "
        "profile's 'waiting for PostgreSQL'), so 16 connections bound the rate by latency, not CPU (the "
        "CPU-per-request column allows ~1,400 req/s). What is left to remove: the thread hand-off (the grant "
        "needs the database, so it cannot run on the event loop) and SQLAlchemy's execute path (~0.1 ms); "
        "`synchronous_commit=off` for rotations would remove the flush wait but lose the last rotations on a "
        "crash, which this server does not trade."
    ),
    "miss_cc_cpu": (
        "Why: see the client-credentials miss above; this row compares CPU spent per grant by each server's "
        "worker processes during the same interleaved runs."
    ),
    "miss_password": (
        "Why: a password login spends CPU beyond its one argon2id verification: a read before hashing (throttle "
        "state, the user's credentials), and after it the `login.succeeded` audit row, `last_login_at`, the user's "
        "permissions and the refresh token in one transaction (round trips listed in the cost breakdown, which also "
        "gives the contention-free ceiling: argon2 CPU ÷ login CPU). Under load the code around argon2 also runs "
        "slower than alone: each verification sweeps 19 MiB through the caches. argon2 runs on dedicated hashing "
        "threads, one per core per worker (uvicorn's workers race for accepts, so one worker may hold every "
        "connection and must be able to use both cores). Pinning glibc's mmap threshold instead (tried) gave the "
        "memory back after every verification but faulted 19 MiB in again each time: ~12–15 ms of system CPU per "
        "login (cost breakdown, 'Argon2id and memory')."
    ),
    "miss_login_latency": (
        "Why: the user lookup is one unique-index probe on `users.username` whether the table holds 1,000 or "
        "1,000,000 rows (a B-tree one level deeper), and argon2id dominates the latency; a p99 over a few hundred "
        "logins per run is decided by scheduling noise, mostly other processes on the shared cores. Compare p50, "
        "and the per-run figures."
    ),
    "miss_memory": (
        "Why: a worker starts at about 100 MB after the admin API and console became lazily loaded (SQLAlchemy, "
        "pydantic, cryptography, psycopg, Starlette and the app), and each of its argon2 hashing threads keeps one "
        "19 MiB block. See the memory table above and 'Argon2id and memory' in the cost breakdown."
    ),
    "miss_guard_fresh": (
        "Why: on fresh tokens both sides do one ES256 verification in OpenSSL (~75 µs here), which is half of the "
        "guard's cost; the guard saves the second parse, the key lookup and PyJWT's Python-level checks around it "
        "(one parse with a C-speed base64url check, claims frozen once for the cache). The ratio is the two "
        "overheads over the same OpenSSL cost, so it moves with how fast this CPU runs OpenSSL against Python: "
        "1.51–1.64× on the machine of the previous runs, 1.40–1.43× on this one. Closing the rest would mean "
        "converting the JWS signature and calling cryptography directly instead of through PyJWT's algorithm "
        "objects (~10 µs), i.e. our own JOSE code."
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
