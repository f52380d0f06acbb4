"""The backup, export and webhook samples of docs/guides/backup-and-webhooks.md, run."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from docs_testkit import SNIPPETS, authgate, authgate_env
from standardwebhooks.webhooks import Webhook
from starlette.testclient import TestClient

from authgate.webhooks.subscriptions import new_secret


def test_the_sqlite_backup_and_export_recipe_runs_and_restores(tmp_path: Path) -> None:
    """The recipe runs as a script of `authgate` processes; setting up and checking run in this process."""
    env = authgate_env(tmp_path / "data")
    initialized = authgate(env, "init", "--password-stdin", stdin="test-fixture docs admin passphrase\n")
    assert initialized.returncode == 0, initialized.stderr
    applied = authgate(env, "apply", str(SNIPPETS / "webhooks_realm.yaml"), "--json")
    assert applied.returncode == 0, applied.stderr
    assert list(json.loads(applied.stdout)["generated_webhook_secrets"]) == ["https://hooks.example.com/authgate"]
    script = (SNIPPETS / "backup_sqlite.sh").read_text()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env={**env, "PATH": env["PATH"]}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    restored = {**env, "AUTHGATE_DATA_DIR": str(tmp_path / "restored")}
    again = authgate(restored, "export", "--include-secrets")
    assert again.returncode == 0, again.stderr
    assert again.stdout == (tmp_path / "realm-export.yaml").read_text(), "the restored realm exports the same file"


def test_the_receiver_sample_verifies_and_drops_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = new_secret()
    monkeypatch.setenv("AUTHGATE_WEBHOOK_SECRET", secret)
    module = ModuleType("webhook_receiver")
    exec(compile((SNIPPETS / "webhook_receiver.py").read_text(), "webhook_receiver.py", "exec"), module.__dict__)
    body = json.dumps({"type": "login.failed", "timestamp": "2026-01-01T00:00:00Z", "data": {"subject": "abe"}})
    now = datetime.now(UTC)
    headers = {"webhook-id": "m1", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign("m1", now, body), "content-type": "application/json"}
    with TestClient(module.app) as client:
        assert client.post("/authgate", content=body, headers=headers).status_code == 204
        assert client.post("/authgate", content=body, headers=headers).status_code == 204  # the duplicate
        assert module.seen == {"m1"}
        forged = {**headers, "webhook-signature": Webhook(new_secret()).sign("m1", now, body)}
        assert client.post("/authgate", content=body, headers=forged).status_code == 400
