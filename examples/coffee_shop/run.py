"""The whole coffee shop in one command: authgate, the API and the browser frontend.

    . .venv/bin/activate
    python examples/coffee_shop/run.py     # or: .venv/bin/python examples/coffee_shop/run.py

1. checks that what it needs is installed (`pip install -e '.[server,example]'`)
   and that its three ports are free;
2. starts authgate (`authgate demo`: schema, signing keys, the coffee-shop
   realm, fresh logins printed) on http://127.0.0.1:8000, the API on
   http://127.0.0.1:5001 and the frontend on http://127.0.0.1:5000, and says
   "Ready" only once each of them answers — otherwise it names the part that
   failed, stops the others and exits non-zero;
3. stops all three within two seconds on Ctrl-C (or SIGTERM).

Options: --authgate-port, --api-port, --frontend-port. Data lives in
./authgate-data (AUTHGATE_DATA_DIR to change it). Standard library only, so
that a wrong interpreter gets a clear message rather than an ImportError.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_REALM = HERE.parent.parent / "src" / "authgate" / "demo" / "realm.yaml"
REALM_FRONTEND = "http://127.0.0.1:5000"  # the frontend origin the demo realm names
START_SECONDS = 60.0
STOP_SECONDS = 1.5  # then whatever still runs is killed: Ctrl-C never leaves the newcomer waiting
NEEDS = {
    "authgate": "authgate",
    "uvicorn": "authgate's server extra",
    "flask": "Flask (the example extra)",
}


class Failed(Exception):
    """A part did not start; the message names it."""


@dataclass
class Part:
    name: str
    port: int
    command: list[str]
    check_path: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def missing_modules() -> list[str]:
    return [what for module, what in NEEDS.items() if importlib.util.find_spec(module) is None]


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        # Bound as the servers bind: a connection in TIME_WAIT is no conflict, a listener is.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # it answered, if not with 2xx
    except OSError:
        return False


def wait_until_answering(part: Part) -> None:
    assert part.process is not None
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if part.process.poll() is not None:
            raise Failed(
                f"{part.name} exited with code {part.process.returncode} before answering on "
                f"{part.url} (its output is above)"
            )
        if answers(part.url + part.check_path):
            return
        time.sleep(0.1)
    raise Failed(f"{part.name} did not answer on {part.url} within {START_SECONDS:.0f} s")


def realm_for(frontend: str, directory: Path) -> Path:
    """The demo realm with its browser client's redirect URIs and origin on the frontend's port."""
    if frontend == REALM_FRONTEND:
        return DEMO_REALM
    path = directory / "realm.yaml"
    path.write_text(
        DEMO_REALM.read_text(encoding="utf-8").replace(REALM_FRONTEND, frontend), encoding="utf-8"
    )
    return path


def build_parts(arguments: argparse.Namespace, realm: Path) -> list[Part]:
    python = sys.executable
    issuer = f"http://127.0.0.1:{arguments.authgate_port}"
    api = f"http://127.0.0.1:{arguments.api_port}"
    return [
        Part(
            "authgate",
            arguments.authgate_port,
            [
                python,
                "-m",
                "authgate",
                "demo",
                "--port",
                str(arguments.authgate_port),
                "--realm",
                str(realm),
            ],
            "/healthz",
        ),
        Part("the coffee API", arguments.api_port, [python, str(HERE / "api.py")], "/drinks"),
        Part(
            "the frontend",
            arguments.frontend_port,
            [
                python,
                str(HERE / "frontend" / "server.py"),
                "--port",
                str(arguments.frontend_port),
                "--issuer",
                issuer,
                "--api",
                api,
            ],
            "/",
        ),
    ]


def start_all(parts: list[Part], env: dict[str, str]) -> None:
    for part in parts:
        print(f"starting {part.name} on {part.url}", flush=True)
        part.process = subprocess.Popen(part.command, env=env)
        wait_until_answering(part)


def stop_all(parts: list[Part]) -> None:
    running = [
        part.process for part in parts if part.process is not None and part.process.poll() is None
    ]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def first_exited(parts: list[Part]) -> Part | None:
    return next((part for part in parts if part.process and part.process.poll() is not None), None)


def supervise(parts: list[Part], env: dict[str, str]) -> int:
    """Start every part, say Ready once all answer, and fail loudly when one exits."""
    start_all(parts, env)
    authgate, frontend = parts[0], parts[-1]
    print(
        f"\nReady: open {frontend.url} and log in with one of the accounts above "
        f"(authgate's own pages: {authgate.url}). Ctrl-C stops everything.\n",
        flush=True,
    )
    while (stopped := first_exited(parts)) is None:
        time.sleep(0.2)
    code = stopped.process.returncode if stopped.process else None
    print(f"error: {stopped.name} exited (code {code}); stopping the others", file=sys.stderr)
    return 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run authgate, the coffee API and the frontend.")
    parser.add_argument("--authgate-port", type=int, default=8000)
    parser.add_argument("--api-port", type=int, default=5001)
    parser.add_argument("--frontend-port", type=int, default=5000)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = parse(argv)
    missing = missing_modules()
    if missing:
        print(
            f"error: missing for {sys.executable}: {', '.join(missing)}.\n"
            "Install the example's extras and run it with the venv's Python:\n"
            "  .venv/bin/pip install -e '.[server,example]'\n"
            "  .venv/bin/python examples/coffee_shop/run.py",
            file=sys.stderr,
        )
        return 2
    # Ctrl-C and `kill` alike stop every part (SIGINT set too: a background job starts it ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory() as scratch:
        parts = build_parts(
            arguments, realm_for(f"http://127.0.0.1:{arguments.frontend_port}", Path(scratch))
        )
        taken = [f"{part.name}'s port {part.port}" for part in parts if port_taken(part.port)]
        if taken:
            print(
                f"error: {', '.join(taken)} in use (another authgate demo or run.py?); stop it or "
                "pick other ports (--authgate-port, --api-port, --frontend-port)",
                file=sys.stderr,
            )
            return 1
        env = {
            **os.environ,
            "AUTHGATE_ISSUER": parts[0].url,
            "COFFEE_ISSUER": parts[0].url,
            "COFFEE_PORT": str(arguments.api_port),
            "COFFEE_CORS_ORIGINS": f"{parts[2].url},http://localhost:{arguments.frontend_port}",
            "PYTHONUNBUFFERED": "1",
        }
        try:
            return supervise(parts, env)
        except Failed as failure:
            print(f"error: {failure}; stopping the others", file=sys.stderr, flush=True)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(
                signal.SIGINT, signal.SIG_IGN
            )  # a second Ctrl-C must not cut the stopping short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            stop_all(parts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
