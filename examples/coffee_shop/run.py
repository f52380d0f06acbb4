"""The whole coffee shop in one command: authgate, the API and the browser frontend.

    python examples/coffee_shop/run.py

1. sets up the demo realm (`authgate demo`: schema, signing keys, the coffee
   shop API, roles, users and the `coffee-spa` client) and prints fresh logins;
2. starts authgate on http://127.0.0.1:8000, the API on http://127.0.0.1:5001
   and the frontend on http://127.0.0.1:5000;
3. stops all three on Ctrl-C.

Data lives in ./authgate-data (AUTHGATE_DATA_DIR to change it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ISSUER = "http://127.0.0.1:8000"
API = "http://127.0.0.1:5001"
FRONTEND = "http://127.0.0.1:5000"


def start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"starting {name}: {' '.join(command)}", flush=True)
    return subprocess.Popen(command, env=env)


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} did not start (exit code {process.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `kill` stops the children too, like Ctrl-C
    env = {**os.environ, "AUTHGATE_ISSUER": ISSUER, "COFFEE_ISSUER": ISSUER,
           "COFFEE_CORS_ORIGINS": "http://127.0.0.1:5000,http://localhost:5000", "PYTHONUNBUFFERED": "1"}
    python = sys.executable
    processes: list[subprocess.Popen[bytes]] = []
    try:
        # `authgate demo` sets up the realm, prints the logins, then serves on 8000.
        authgate = start("authgate", [python, "-m", "authgate", "demo", "--port", "8000"], env)
        processes.append(authgate)
        wait_until_up(ISSUER + "/healthz", authgate)
        processes.append(start("coffee API", [python, str(HERE / "api.py")], env))
        processes.append(start("frontend", [python, str(HERE / "frontend" / "server.py"), "--port", "5000",
                                             "--issuer", ISSUER, "--api", API], env))
        wait_until_up(FRONTEND + "/", processes[-1])
        print(f"\nReady: open {FRONTEND} and log in with one of the accounts above. Ctrl-C stops everything.\n", flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        stopped = next(process for process in processes if process.poll() is not None)
        print(f"a process exited ({' '.join(map(str, stopped.args))}); stopping the others", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
