"""A live `authgate demo` for the documentation's samples (one per test session)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from docs_testkit import Demo, authgate_env, wait_until_answering

from testkit import free_port


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`authgate demo` on SQLite and a free port: its logins and secrets read from what it prints."""
    port = free_port()
    env = authgate_env(tmp_path_factory.mktemp("docs-demo"))
    printed = subprocess.run([sys.executable, "-m", "authgate", "demo", "--no-serve", "--port", str(port)],
                             env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    passwords = dict(re.findall(r"│ (admin|barista|manager)\s+│ (\S+)\s+│", printed))
    secrets = dict(re.findall(r"│ (nightly-report)\s+│ (\S+)\s+│", printed))
    url = f"http://127.0.0.1:{port}"
    env["AUTHGATE_ISSUER"] = url  # what `demo --port` chose; `serve` and `apply` below keep it
    server = subprocess.Popen([sys.executable, "-m", "authgate", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(url + "/healthz", server)
        yield Demo(url, passwords, secrets, env)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=15)
