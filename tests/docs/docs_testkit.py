"""What the documentation tests share: where the docs are, a live demo's handle, reading a sample as run.

Samples are written for the demo's address (http://127.0.0.1:8000); tests run
them against a demo on a free port, so that address is substituted — and
nothing else: what runs is what the page shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from testkit import TEST_MASTER_KEY, cli_in_process

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
DEMO_URL = "http://127.0.0.1:8000"


@dataclass
class Demo:
    url: str
    passwords: dict[str, str]
    secrets: dict[str, str]
    env: dict[str, str]  # the environment `authgate` commands need to reach the demo's database

    def snippet(self, name: str) -> str:
        return (SNIPPETS / name).read_text(encoding="utf-8").replace(DEMO_URL, self.url)

    def token(self, username: str) -> str:
        response = httpx.post(f"{self.url}/oauth/token", data={
            "grant_type": "password", "client_id": "coffee-pos", "username": username,
            "password": self.passwords[username]})
        response.raise_for_status()
        return str(response.json()["access_token"])

    def client_token(self) -> str:
        """nightly-report's: get:drinks only."""
        response = httpx.post(f"{self.url}/oauth/token", auth=("nightly-report", self.secrets["nightly-report"]),
                              data={"grant_type": "client_credentials"})
        response.raise_for_status()
        return str(response.json()["access_token"])


def wait_until_answering(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def authgate(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    """`authgate ARGS` with `env`'s settings (and no AUTHGATE_ setting it lacks), run in this process: where
    a file or a database is the subject, not the process (tests/integration/test_cli.py runs that)."""
    unset: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("AUTHGATE_") and name not in env}
    return cli_in_process({**env, **unset})(*args, stdin=stdin, check=False)


def authgate_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "AUTHGATE_DATA_DIR": str(data_dir), "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY,
           "COLUMNS": "200", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in ("AUTHGATE_ISSUER", "AUTHGATE_DATABASE_URL", "AUTHGATE_CONFIG"):
        env.pop(name, None)
    return env


