"""examples/coffee_shop/run.py as a newcomer runs it: Ready only when every part answers, a loud
failure naming the part otherwise, and Ctrl-C stops everything in under two seconds."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit import TEST_MASTER_KEY, free_port

RUN = Path(__file__).resolve().parents[2] / "examples" / "coffee_shop" / "run.py"


@pytest.fixture
def ports() -> dict[str, int]:
    return {"authgate": free_port(), "api": free_port(), "frontend": free_port()}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {
        **os.environ,
        "AUTHGATE_DATA_DIR": str(tmp_path),
        "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY,
    }
    for name in ("AUTHGATE_ISSUER", "AUTHGATE_DATABASE_URL", "AUTHGATE_CONFIG"):
        values.pop(name, None)
    return values


def command(ports: dict[str, int]) -> list[str]:
    return [
        sys.executable,
        str(RUN),
        "--authgate-port",
        str(ports["authgate"]),
        "--api-port",
        str(ports["api"]),
        "--frontend-port",
        str(ports["frontend"]),
    ]


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """Its output, line by line, read in a thread so that waiting for a line has a bound."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue[str], prefix: str, seconds: float = 90) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            break
        if seen[-1].startswith(prefix):
            return seen
    raise AssertionError(
        f"no line starting {prefix!r} within {seconds} s; output:\n{''.join(seen)}"
    )


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def started(ports: dict[str, int], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        command(ports), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    yield process
    if process.poll() is None:  # the test failed before stopping it: let it stop its parts
        process.terminate()
        process.wait(timeout=10)


def test_ready_means_every_part_answers_and_ctrl_c_stops_them_in_under_two_seconds(
    started: subprocess.Popen[str], ports: dict[str, int]
) -> None:
    lines = lines_of(started)
    output = wait_for_line(lines, "Ready")
    assert any("barista" in line for line in output)  # authgate demo printed the logins first
    assert httpx.get(f"http://127.0.0.1:{ports['authgate']}/healthz").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{ports['api']}/drinks").json()["success"] is True
    assert (
        httpx.get(f"http://127.0.0.1:{ports['frontend']}/config.json")
        .json()["api"]
        .endswith(str(ports["api"]))
    )

    began = time.monotonic()
    started.send_signal(signal.SIGINT)
    started.wait(timeout=10)
    stopped_after = time.monotonic() - began

    assert started.returncode == 0
    assert stopped_after < 2.0, f"stopping took {stopped_after:.2f} s"
    assert all(port_free(port) for port in ports.values()), "a part is still listening"


def test_a_taken_port_fails_loudly_naming_it_and_never_says_ready(
    ports: dict[str, int], env: dict[str, str]
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["api"]))
        squatter.listen()
        done = subprocess.run(
            command(ports), env=env, capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode != 0
    assert "Ready" not in done.stdout
    assert f"the coffee API's port {ports['api']} in use" in done.stderr
    assert port_free(ports["authgate"]) and port_free(ports["frontend"])


def test_a_part_that_cannot_start_is_named_and_the_others_are_stopped(
    ports: dict[str, int], env: dict[str, str]
) -> None:
    env["AUTHGATE_MASTER_KEY"] = "not-a-key"  # authgate demo refuses to start
    done = subprocess.run(
        command(ports), env=env, capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 1
    assert "Ready" not in done.stdout
    assert "error: authgate exited with code" in done.stderr
    assert all(port_free(port) for port in ports.values())


def test_a_python_without_the_example_extras_gets_the_install_command(
    ports: dict[str, int], env: dict[str, str]
) -> None:
    # -S: no site-packages, as with a system Python that never saw the venv.
    done = subprocess.run(
        [sys.executable, "-S", *command(ports)[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert (
        "Flask (the example extra)" in done.stderr
        and "pip install -e '.[server,example]'" in done.stderr
    )
    assert "Traceback" not in done.stderr
