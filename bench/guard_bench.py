"""Per-request cost of verifying a bearer JWT: authgate's guard vs PyJWT + PyJWKClient.

One process: an ES256 key made here (bench-only), a discovery document and a
JWKS served on 127.0.0.1, N tokens minted up front. Both sides do the same
checks (signature with an allow-listed algorithm, iss, aud, exp/nbf/iat with
30 s leeway, exp/iss/aud required), each in its documented usage:

    baseline: PyJWKClient(jwks_uri).get_signing_key_from_jwt(token), then
              jwt.decode(token, key, algorithms, audience, issuer, leeway)
    guard:    Guard(issuer, audience).verify(token)

"fresh" verifies each token once (the guard's claims cache is cleared before
each round, so every call is a miss); "repeated" verifies one token over and
over. Rounds alternate between the two sides; the median round is reported.

    .venv/bin/python bench/guard_bench.py [--tokens 2000] [--repeat 20000] [--rounds 5]

The last line printed is one JSON object, for plotting.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from authgate.guard import Guard

AUDIENCE = "https://coffee.example/api"
ALGORITHMS = ["ES256", "RS256", "EdDSA", "PS256"]
TARGETS = {"fresh": 1.5, "repeated": 20.0}


def serve_issuer(public_jwk: dict[str, Any]) -> tuple[ThreadingHTTPServer, str]:
    class Issuer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                body: dict[str, Any] = {"issuer": url, "jwks_uri": url + "/jwks"}
            else:
                body = {"keys": [public_jwk]}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, url


def mint(key: Any, issuer: str, count: int) -> list[str]:
    now = int(time.time())
    return [
        jwt.encode(
            {"iss": issuer, "sub": f"user-{n}", "aud": AUDIENCE, "iat": now, "exp": now + 3600,
             "jti": uuid.uuid4().hex, "client_id": "coffee-spa", "scope": "openid profile",
             "permissions": ["get:drinks", "get:drinks-detail", "post:drinks"]},
            key, algorithm="ES256", headers={"kid": "bench-key", "typ": "at+jwt"},
        )
        for n in range(count)
    ]


def per_op_us(verify: Callable[[str], Any], tokens: list[str], before: Callable[[], None]) -> float:
    before()
    start = time.perf_counter()
    for token in tokens:
        verify(token)
    return (time.perf_counter() - start) / len(tokens) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=2000, help="fresh tokens per round")
    parser.add_argument("--repeat", type=int, default=20000,
                        help="verifications of one token per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())  # bench-only key, never leaves this process
    public_jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())),
                  "kid": "bench-key", "alg": "ES256"}
    server, issuer = serve_issuer(public_jwk)
    tokens = mint(key, issuer, args.tokens)

    guard = Guard(issuer=issuer, audience=AUDIENCE, algorithms=ALGORITHMS, leeway=30)
    jwks_client = jwt.PyJWKClient(issuer + "/jwks")

    def baseline(token: str) -> Any:
        signing_key = jwks_client.get_signing_key_from_jwt(token)
        return jwt.decode(token, signing_key.key, algorithms=ALGORITHMS, audience=AUDIENCE,
                          issuer=issuer, leeway=30, options={"require": ["exp", "iss", "aud"]})

    # Warm up both (key fetch, imports) and check they agree on every token.
    for token in tokens[:50]:
        assert guard.verify(token).sub == baseline(token)["sub"]

    def nothing() -> None:
        pass

    results: dict[str, dict[str, list[float]]] = {"fresh": {"guard": [], "pyjwt": []},
                                                  "repeated": {"guard": [], "pyjwt": []}}
    one = [tokens[0]] * args.repeat
    repeated_baseline = one[: max(args.repeat // 20, 200)]  # it does not cache: fewer calls suffice
    for _ in range(args.rounds):
        clear = guard.verifier.cache.clear
        results["fresh"]["guard"].append(per_op_us(guard.verify, tokens, clear))
        results["fresh"]["pyjwt"].append(per_op_us(baseline, tokens, nothing))
        results["repeated"]["guard"].append(per_op_us(guard.verify, one, nothing))
        results["repeated"]["pyjwt"].append(per_op_us(baseline, repeated_baseline, nothing))
    server.shutdown()

    summary: dict[str, Any] = {"bench": "guard", "alg": "ES256", "tokens": args.tokens,
                               "repeat": args.repeat, "rounds": args.rounds,
                               "pyjwt": jwt.__version__, "python": sys.version.split()[0],
                               "loadavg_1m": round(os.getloadavg()[0], 2)}
    print(f"{'case':<10}{'guard µs/op':>14}{'PyJWT µs/op':>14}{'speed-up':>10}{'target':>8}"
          f"{'median speed-up':>17}")
    for case, sides in results.items():
        ours, theirs = min(sides["guard"]), min(sides["pyjwt"])
        ratio = theirs / ours
        median_ratio = statistics.median(sides["pyjwt"]) / statistics.median(sides["guard"])
        summary[case] = {"guard_us": round(ours, 2), "pyjwt_us": round(theirs, 2),
                         "ratio": round(ratio, 2), "median_ratio": round(median_ratio, 2),
                         "target": TARGETS[case], "met": ratio >= TARGETS[case]}
        print(f"{case:<10}{ours:>14.2f}{theirs:>14.2f}{ratio:>9.2f}x{TARGETS[case]:>7.1f}x"
              f"{median_ratio:>16.2f}x")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
