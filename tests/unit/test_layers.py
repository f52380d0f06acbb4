"""The package layers of docs/architecture.md hold: import-linter's contracts (pyproject.toml) pass,
break when someone adds a forbidden import (lazy imports inside functions included), and no module
imports a private name from another package or from a dependency."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "authgate"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(project: Path, source: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(project / "pyproject.toml"), "--no-cache"],
        cwd=project, env={"PYTHONPATH": str(source), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_layer_contracts_hold() -> None:
    result = lint(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "addition", "contract"), [
    pytest.param("oauth2/revocation.py", "from authgate.web import app as _web_app\n",
                 "Protocol packages below the web layer", id="oauth2-imports-web"),
    pytest.param("http/cors.py", "\ndef _late() -> None:\n    from authgate.oidc import discovery  # noqa\n",
                 "Protocol packages below the web layer", id="lazy-import-inside-a-function"),
    pytest.param("guard/bearer.py", "from authgate import clock as _clock\n",
                 "The guard imports nothing else", id="guard-imports-the-server"),
    pytest.param("accounts/users.py", "import starlette.requests as _requests\n",
                 "The domain knows no HTTP", id="domain-imports-http"),
    pytest.param("storage/models.py", "from authgate.oauth2 import scopes as _scopes\n",
                 "Storage knows no protocol", id="storage-imports-protocol"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, addition: str, contract: str) -> None:
    source = tmp_path / "src"
    shutil.copytree(PACKAGE, source / "authgate", ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = source / "authgate" / module
    target.write_text(target.read_text() + addition)
    result = lint(tmp_path, source)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout


def _private_imports(path: Path) -> list[str]:
    """`from X import _name` where X is a dependency or another authgate package."""
    own_package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:2])
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [alias.name for alias in node.names if _private(alias.name)]
            private_module = any(_private(part) for part in node.module.split("."))
            if not node.module.startswith(own_package) and (names or private_module):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import {names or '...'}")
        elif isinstance(node, ast.Import):
            found += [f"{path.relative_to(ROOT)}:{node.lineno} import {alias.name}" for alias in node.names
                      if any(_private(part) for part in alias.name.split("."))]
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_of_a_dependency_or_another_package_is_imported() -> None:
    found = [line for path in sorted(PACKAGE.rglob("*.py")) for line in _private_imports(path)]
    assert found == []
