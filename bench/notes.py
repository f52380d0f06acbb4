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
        "authgate introspects its own JWT access tokens (signature, expiry, issuer, then one primary-key lookup "
        "for a revoked `jti` in PostgreSQL). oidc-provider refuses to introspect JWT access tokens "
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
