"""`ruff check` with the project's configuration (pyproject.toml [tool.ruff]) passes on the whole tree and
stays so: a finding anywhere fails this test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"

def ruff_check(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    assert RUFF.exists(), f"{RUFF} is missing: install the `test` extra (it lists ruff)"
    return subprocess.run(
        [str(RUFF), "check", "--no-cache", "--output-format", "concise", *arguments],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_tree_has_no_findings() -> None:
    result = ruff_check(".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_uses_the_projects_configuration_and_reports_a_finding(tmp_path: Path) -> None:
    """Not a vacuous pass: a line of 121 characters is over the project's 120, an unused import is found."""
    long_line = "VALUE = '" + "x" * 111 + "'"
    assert len(long_line) == 121
    source = tmp_path / "sample.py"
    source.write_text(f"import os\n\n{long_line}\n")
    result = ruff_check("--config", str(ROOT / "pyproject.toml"), str(source), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "E501" in result.stdout and "F401" in result.stdout, result.stdout
