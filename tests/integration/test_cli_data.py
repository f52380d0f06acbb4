"""`authgate export`, `authgate backup` and webhooks in `authgate apply`, as people run them: exit codes,
one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import authgate  # noqa: F401  (the fixture)

REALM = """
users:
  - username: abe
    password: "test-fixture cli export passphrase 8"
webhooks:
  - url: https://hooks.example/a
    events: [user.created]
"""


@pytest.fixture
def realm_file(tmp_path: Path) -> Path:
    path = tmp_path / "realm.yaml"
    path.write_text(REALM)
    return path


def test_export_writes_the_file_and_a_summary(authgate, realm_file: Path, tmp_path: Path) -> None:
    authgate("init", "--password-stdin", stdin="test-fixture admin passphrase 6\n")
    applied = authgate("apply", str(realm_file))
    assert "webhook https://hooks.example/a secret (shown once): whsec_" in applied.stdout
    to_stdout = authgate("export").stdout
    written = authgate("export", "--output", str(tmp_path / "out.yaml"))
    assert (tmp_path / "out.yaml").read_text() == to_stdout
    assert "users" in written.stdout and "webhooks" in written.stdout, "the summary table"
    assert "password_hash" not in to_stdout and "whsec_" not in to_stdout
    secret = authgate("export", "--include-secrets", "--output", str(tmp_path / "secret.yaml"))
    assert "holds secrets" in secret.stdout and (tmp_path / "secret.yaml").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("command", ["export", "backup"])
def test_an_unwritable_output_is_one_line_and_exit_1(authgate, tmp_path: Path, command: str) -> None:
    authgate("init", "--password-stdin", stdin="test-fixture admin passphrase 6\n")
    result = authgate(command, "--output", str(tmp_path / "no" / "such" / "dir" / "file"), check=False)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "cannot write" in result.stderr
    assert not (tmp_path / "no").exists()


BAD_WEBHOOKS = """
webhooks:
  - url: "https://hooks.example/\\0"
    events: [user.created]
  - url: https://hooks.example/{long}
    events: [user.created]
  - url: https://hooks.example/b
    events: [user.exploded]
  - url: ftp://hooks.example/c
    events: [user.created]
  - url: https://hooks.example/d
    events: [user.created]
    secret: not-a-standard-webhooks-secret
""".format(long="a" * 400)


def test_bad_webhooks_in_a_realm_file_name_each_entry(authgate, tmp_path: Path) -> None:
    authgate("init", "--password-stdin", stdin="test-fixture admin passphrase 6\n")
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_WEBHOOKS)
    result = authgate("apply", str(path), check=False)
    assert result.returncode == 1, result.stdout
    errors = result.stderr
    for index, line in ((0, 3), (1, 5), (2, 7), (3, 9), (4, 11)):
        assert f"webhooks[{index}] (line {line})" in errors, errors
    assert "unknown event 'user.exploded'" in errors and "http or https" in errors and "whsec_" in errors
    assert "5 problems; nothing was applied" in errors
    assert "\nwebhooks:" not in authgate("export").stdout, "nothing was written"
