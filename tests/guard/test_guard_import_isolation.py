"""A resource server installs and imports the guard without the server's
dependencies (SPEC part 5), nor Django, nor pytest (authgate.testing included):
checked in this venv, and in a throwaway venv
holding only PyJWT, cryptography, httpx and their own dependencies."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
SERVER_MODULES = ("sqlalchemy", "starlette", "fastapi", "flask", "pydantic", "uvicorn", "alembic",
                  "jinja2", "argon2", "authgate.storage", "authgate.settings",
                  "django", "rest_framework", "asgiref", "pytest", "mcp")
BASE_PACKAGES = ("PyJWT", "cryptography", "cffi", "pycparser", "httpx", "httpcore", "h11", "anyio",
                 "idna", "certifi", "typing_extensions")

# Runs in the throwaway venv: authgate.testing's issuer (itself needing only the
# guard's dependencies) serves its JWKS over HTTP; the guard verifies its token.
SMOKE = textwrap.dedent("""
    import importlib.util
    import authgate.guard, authgate.guard.asgi, authgate.guard.wsgi
    from authgate.guard import Guard, Requirement, InsufficientPermission
    from authgate.testing import TestIssuer

    for name in ("flask", "fastapi", "starlette", "sqlalchemy", "pydantic", "django", "pytest"):
        assert importlib.util.find_spec(name) is None, name + " should not be installed here"

    with TestIssuer(audience="api", subject="abe") as issuer:
        token = issuer.token("get:drinks")
        guard = Guard(issuer=issuer.url, audience="api")
        assert guard.authorize("Bearer " + token, Requirement.of("get:drinks")).sub == "abe"
        try:
            guard.authorize("Bearer " + token, Requirement.of("post:drinks"))
            raise SystemExit("permission not enforced")
        except InsufficientPermission:
            pass
    print("guard ok")
""")


def test_guard_imports_nothing_of_the_server() -> None:
    probe = (
        "import sys; import authgate.guard, authgate.guard.asgi, authgate.guard.wsgi, "
        "authgate.testing; "
        f"loaded = [m for m in {SERVER_MODULES!r} if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True,
                            env={"PYTHONPATH": str(SRC)}, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_guard_works_in_a_venv_with_only_the_base_dependencies(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # Same versions as this venv, so pip finds them in its cache or local wheel mirror.
    pins = [f"{name}=={version(name)}" for name in BASE_PACKAGES]
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--disable-pip-version-check", *pins],
        check=False, capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    result = subprocess.run([str(python), "-c", SMOKE], check=False, capture_output=True, text=True,
                            env={"PYTHONPATH": str(SRC)}, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "guard ok"
