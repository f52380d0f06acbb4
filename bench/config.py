"""What the benchmark measures against: targets, published peer figures, run lengths, fixed names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT = BENCH_DIR / "out"  # logs, raw profiles, results.json (gitignored)
PLOTS = BENCH_DIR / "plots"  # PNGs referenced from results.md (committed)
RESULTS_MD = BENCH_DIR / "results.md"
PEER_DIR = BENCH_DIR / "peers" / "oidc-provider"
LUA = BENCH_DIR / "lua" / "form.lua"
REALM = BENCH_DIR / "realm.yaml"
VENV_BIN = REPO / ".venv" / "bin"

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "authgate_bench"
DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/0"

# The bench realm (bench/realm.yaml). Bench-only credentials, never used outside this machine.
AUDIENCE = "https://api.example"
CC_CLIENT = ("bench", "bench-secret-0123456789abcdef0123456789abcdef")
APP_CLIENT = ("bench-app", "bench-app-secret-0123456789abcdef0123456789ab")
USER = ("bench-user", "correct horse battery staple 42")
SCOPE = "read"


@dataclass(frozen=True)
class Timing:
    warmup: float = 5.0
    duration: float = 8.0
    runs: int = 3


FULL = Timing()
QUICK = Timing(warmup=2.0, duration=3.0, runs=2)

# wrk concurrency per benchmark (one wrk thread, as in shared/peers/README.md).
CONNECTIONS = {"client_credentials": 32, "introspection": 32, "refresh": 16, "password": 4}

# Targets for this 2-core machine (issue 7).
TARGETS = {
    "client_credentials_vs_peer": 2.0,  # authgate req/s ÷ oidc-provider req/s
    "password_vs_raw_argon2": 0.90,  # login req/s ÷ raw argon2id verifications/s on 2 processes
    "refresh_rps": 1000.0,
    "introspection_rps": 8000.0,
    "guard_fresh": 1.5,  # PyJWT+PyJWKClient µs ÷ guard µs
    "guard_repeated": 20.0,
    "login_p99_1m_vs_1k": 1.2,  # at most
    "rss_mb_per_worker": 150.0,  # at most
}


@dataclass(frozen=True)
class Published:
    product: str
    figure: str
    value: float
    unit: str
    conditions: str
    source: str


KEYCLOAK_CONDITIONS = (
    "per vCPU, from Keycloak's high-availability sizing guide ('Concepts for sizing CPU and memory "
    "resources'): 3 pods behind OpenShift's TLS-passthrough router (TLS terminated in Keycloak), "
    "Amazon Aurora PostgreSQL multi-AZ, default PBKDF2-SHA512 with 210,000 iterations; "
    "tested up to 300 logins/s, 2,000 client-credentials grants/s (one request per client, so mostly new "
    "TLS connections), 435 refresh grants/s. Later editions of the guide say 200 client-credentials/s per vCPU."
)
HYDRA_CONDITIONS = (
    "Ory Hydra's benchmark page (scripts/run-bench.sh → BENCHMARKS.md): CircleCI '2 CPU cores and 4 GB RAM', "
    "in-memory storage (no database), `hey` with 10,000 requests at 100 concurrent, plain HTTP, opaque tokens, "
    "client secret hashed (PBKDF2 10,000 iterations / BCrypt) on every client-credentials grant."
)
PUBLISHED = [
    Published("Keycloak", "password logins", 15, "req/s per vCPU", KEYCLOAK_CONDITIONS,
              "keycloak.org/high-availability/concepts-memory-and-cpu-sizing"),
    Published("Keycloak", "client-credentials grants", 120, "req/s per vCPU", KEYCLOAK_CONDITIONS,
              "keycloak.org/high-availability/concepts-memory-and-cpu-sizing"),
    Published("Keycloak", "refresh grants", 120, "req/s per vCPU", KEYCLOAK_CONDITIONS,
              "keycloak.org/high-availability/concepts-memory-and-cpu-sizing"),
    Published("Ory Hydra", "client-credentials grants", 513, "req/s on 2 cores", HYDRA_CONDITIONS,
              "ory.sh/docs/hydra/benchmark (github.com/ory/hydra scripts/run-bench.sh)"),
    Published("Ory Hydra", "introspections", 5109, "req/s on 2 cores", HYDRA_CONDITIONS,
              "ory.sh/docs/hydra/benchmark (github.com/ory/hydra scripts/run-bench.sh)"),
]
