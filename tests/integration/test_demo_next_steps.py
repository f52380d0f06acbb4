"""`authgate demo` as a newcomer runs it: it says what to do next, and its curls get tokens."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from testkit import TEST_MASTER_KEY, free_port


def wait_for_health(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"authgate exited with {process.returncode}"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_demo_prints_the_console_the_public_clients_and_curls_that_get_tokens(
    tmp_path: Path,
) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AUTHGATE_DATA_DIR": str(tmp_path),
        "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY,
        "COLUMNS": "200",
    }
    for name in ("AUTHGATE_ISSUER", "AUTHGATE_DATABASE_URL", "AUTHGATE_CONFIG"):
        env.pop(name, None)
    # --no-serve prints the same and exits; `serve` then serves the same database on the same port.
    demo = subprocess.run(
        [sys.executable, "-m", "authgate", "demo", "--no-serve", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    output = demo.stdout
    assert f"open {issuer}/admin and sign in as admin" in output
    assert "public client coffee-spa: authorization_code" in output
    assert "public client coffee-pos: password" in output
    curls = [line.strip() for line in output.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 2  # the password grant and client credentials
    server = subprocess.Popen(
        [sys.executable, "-m", "authgate", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(issuer, server)
        for curl in curls:
            answer = subprocess.run(
                ["bash", "-c", curl], capture_output=True, text=True, timeout=30, check=True
            )
            token = json.loads(answer.stdout)
            assert token["token_type"] == "Bearer"
            assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", token["access_token"])
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=15)
