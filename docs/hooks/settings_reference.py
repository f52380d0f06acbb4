"""The settings reference pages, generated from where each setting is defined so that they cannot drift.

    .venv/bin/python docs/hooks/settings_reference.py      # rewrite both pages

- docs/reference/settings.md from `authgate.settings.Settings` (the server);
- docs/reference/guard-settings.md from `authgate.guard.GuardConfig` (the
  guard), whose fields are documented by `#:` comments.

As an MkDocs hook (mkdocs.yml `hooks:`), it fails the build when a committed
page differs from what the code says; tests/docs checks the same.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

PAGE = Path(__file__).resolve().parent.parent / "reference" / "settings.md"
GUARD_PAGE = PAGE.with_name("guard-settings.md")

HEADER = """\
# Settings

<!-- Generated from src/authgate/settings.py by docs/hooks/settings_reference.py: do not edit. -->

Every setting authgate reads, as `src/authgate/settings.py` defines it. Set one
as an environment variable (`AUTHGATE_` + the name in capitals) or in a YAML or
JSON file named by `AUTHGATE_CONFIG` (keys as the names below); the environment
wins over the file, the file over the default. A list is written as JSON in
the environment (`AUTHGATE_TRUSTED_PROXIES='["10.0.0.0/8"]'`). At start-up the server warns
about each insecure default still in use (a generated master key, a plain-HTTP
issuer off loopback, SQLite).

"""


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _type(field: FieldInfo) -> str:
    annotation = field.annotation
    text = getattr(annotation, "__name__", None) if getattr(annotation, "__args__", None) is None else None
    written = text or str(annotation)
    for prefix in ("typing.", "pathlib.", "pydantic.types."):
        written = written.replace(prefix, "")
    return written.replace("NoneType", "None")


def _bounds(field: FieldInfo) -> str:
    found = []
    for item in field.metadata:
        for name, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            if getattr(item, name, None) is not None:
                found.append(f"{sign} {getattr(item, name)}")
    return f" ({', '.join(found)})" if found else ""


def render() -> str:
    from authgate.settings import Settings

    sections = []
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("\n", " ").replace("|", "\\|")
        sections.append(
            f"## `{name}`\n\n"
            f"`AUTHGATE_{name.upper()}` · {_type(field)}{_bounds(field)} · default {_default(field)}\n\n"
            f"{description}\n"
        )
    return HEADER + "\n".join(sections)


GUARD_HEADER = """\
# Guard settings

<!-- Generated from src/authgate/guard/config.py by docs/hooks/settings_reference.py: do not edit. -->

The guard's settings are the fields of `GuardConfig`: pass them as keyword
arguments (`Guard(issuer, audience, leeway=10)`, the same for `FlaskGuard`) or
as a whole `config=GuardConfig(...)`. Only `issuer` and `audience` are needed.

"""


def _field_comments(source: str) -> dict[str, str]:
    """The `#:` comment block above each `name: type` line of a dataclass body."""
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        field = re.match(r"(\w+)\s*:", stripped)
        if field and pending:
            comments[field.group(1)] = " ".join(pending)
        pending = []
    return comments


def _guard_default(field: dataclasses.Field[Any]) -> str:
    if field.default_factory is not dataclasses.MISSING:
        factory = field.default_factory
        return f"`{factory.__module__}.{getattr(factory, '__name__', repr(factory))}`"
    if field.default is dataclasses.MISSING:
        return "required"
    if callable(field.default):
        return f"`{field.default.__module__}.{field.default.__name__}`"
    return "unset" if field.default is None else f"`{field.default!r}`"


def render_guard() -> str:
    from authgate.guard import GuardConfig

    comments = _field_comments(inspect.getsource(GuardConfig))
    sections = []
    for field in dataclasses.fields(GuardConfig):
        description = comments.get(field.name, "").replace("``", "`")  # reST literals to Markdown
        sections.append(f"## `{field.name}`\n\n{field.type} · default {_guard_default(field)}\n\n{description}\n")
    return GUARD_HEADER + "\n".join(sections)


def is_fresh() -> bool:
    return (PAGE.read_text(encoding="utf-8") == render()
            and GUARD_PAGE.exists() and GUARD_PAGE.read_text(encoding="utf-8") == render_guard())


def on_pre_build(config: Any) -> None:
    """MkDocs hook: a stale page fails the build."""
    if not is_fresh():
        from mkdocs.exceptions import PluginError

        raise PluginError(
            "a settings page is stale: run .venv/bin/python docs/hooks/settings_reference.py"
        )


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    GUARD_PAGE.write_text(render_guard(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE} and {GUARD_PAGE}\n")
