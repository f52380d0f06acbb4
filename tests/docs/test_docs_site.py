"""The documentation site builds strictly, shows only samples that tests run, and cannot drift from settings.py."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from docs_testkit import DOCS, ROOT, SNIPPETS

INCLUDE = re.compile(r'--8<-- "snippets/([\w.-]+)"')
FENCE = re.compile(r"^\s*(```+)\s*([\w+-]*)")
# Console output or data shown for reading (a response, a decoded token): marked ```text, not run.
NOT_RUN = {"text"}


def pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md") if path.relative_to(DOCS).parts[0] not in {"snippets", "hooks"})


def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(language, body lines) of each fenced block."""
    blocks: list[tuple[str, list[str]]] = []
    lines = iter(text.splitlines())
    for line in lines:
        opening = FENCE.match(line)
        if opening is None:
            continue
        body = []
        for inner in lines:
            if inner.strip() == opening.group(1):
                break
            body.append(inner)
        blocks.append((opening.group(2), body))
    return blocks


def settings_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_reference", DOCS / "hooks" / "settings_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_site_builds_with_strict_checks(tmp_path: Path) -> None:
    # --strict: a broken link, a missing nav page or a missing snippet (check_paths) fails the build.
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                           env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable).parent)})
    assert built.returncode == 0, built.stderr[-3000:]
    flask_page = (tmp_path / "guides" / "flask" / "index.html").read_text(encoding="utf-8")
    assert "FlaskGuard" in flask_page and "--8&lt;--" not in flask_page  # the snippet was included, not shown
    assert (tmp_path / "conformance" / "index.html").exists()


def test_every_code_block_on_a_page_is_an_included_sample_or_marked_text() -> None:
    offending = []
    for page in pages():
        for language, body in fenced_blocks(page.read_text(encoding="utf-8")):
            content = [line.strip() for line in body if line.strip()]
            if language in NOT_RUN:
                continue
            if len(content) != 1 or not INCLUDE.fullmatch(content[0]):
                offending.append(f"{page.relative_to(ROOT)}: ```{language} {content[:1]}")
    assert not offending, "code blocks that no test runs (put the code in docs/snippets/):\n" + "\n".join(offending)


def test_every_sample_is_shown_on_some_page_and_exists() -> None:
    included = {name for page in pages() for name in INCLUDE.findall(page.read_text(encoding="utf-8"))}
    files = {path.name for path in SNIPPETS.iterdir() if path.is_file()}
    assert included <= files, f"pages include samples that do not exist: {sorted(included - files)}"
    assert files <= included, f"samples no page shows: {sorted(files - included)}"


def test_every_sample_is_run_by_a_test() -> None:
    """A sample's name (with or without its suffix) appears in a test module of tests/docs that runs it."""
    tests = "".join(path.read_text(encoding="utf-8") for path in Path(__file__).parent.glob("test_*.py")
                    if path.name != Path(__file__).name)
    untested = [path.name for path in SNIPPETS.iterdir() if path.is_file() and path.stem not in tests]
    assert not untested, f"samples no test in tests/docs runs: {untested}"


def test_the_settings_page_is_what_settings_py_says() -> None:
    module = settings_reference()
    assert module.is_fresh(), "stale: run .venv/bin/python docs/hooks/settings_reference.py"
    page = module.PAGE.read_text(encoding="utf-8")
    from authgate.settings import Settings

    for name in Settings.model_fields:
        assert f"`AUTHGATE_{name.upper()}`" in page
    assert "`AUTHGATE_ACCESS_TOKEN_TTL` · int (≥ 30) · default `3600`" in page
    guard_page = module.GUARD_PAGE.read_text(encoding="utf-8")
    from authgate.guard import GuardConfig

    for field in GuardConfig.__dataclass_fields__:
        assert f"## `{field}`" in guard_page
    assert "float · default `30.0`\n\nSeconds of clock skew" in guard_page  # leeway, with its comment


def test_a_changed_setting_makes_the_page_stale(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from authgate.settings import Settings

    module = settings_reference()
    field = Settings.model_fields["access_token_ttl"]
    monkeypatch.setattr(field, "description", "Changed in settings.py, not yet in the docs.")
    assert not module.is_fresh()


def test_a_changed_guard_setting_makes_the_page_stale(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    module = settings_reference()
    source = module.inspect.getsource
    monkeypatch.setattr(module.inspect, "getsource",
                        lambda obj: source(obj).replace("Seconds of clock skew", "Clock skew, in seconds,"))
    assert not module.is_fresh()


def test_the_readme_guard_examples_are_the_tested_samples() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    python_blocks = ["\n".join(body) + "\n" for language, body in fenced_blocks(readme) if language == "python"]
    for sample in ("guard_flask.py", "guard_fastapi.py"):
        assert (SNIPPETS / sample).read_text(encoding="utf-8") in python_blocks, f"README's copy of {sample} differs"


def test_the_realm_file_reference_names_every_field_the_loader_accepts() -> None:
    from authgate.provisioning.identity_providers import IdentityProviderEntry
    from authgate.provisioning.realm_file import ApiEntry, ClientEntry, RoleEntry, UserEntry

    page = (DOCS / "reference" / "realm-file.md").read_text(encoding="utf-8")
    documented: dict[str, set[str]] = {}
    section = ""
    for row in re.findall(r"^\|\s*(`\w+\[\]`)?\s*\|\s*([^|]+)\|", page, flags=re.MULTILINE):
        section = row[0].strip("`[]") or section
        documented.setdefault(section, set()).update(re.findall(r"`(\w+)`", row[1]))
    models = {"apis": ApiEntry, "roles": RoleEntry, "users": UserEntry, "clients": ClientEntry,
              "identity_providers": IdentityProviderEntry}
    for name, model in models.items():
        assert documented.get(name) == set(model.model_fields), f"{name}: the table and {model.__name__} differ"
