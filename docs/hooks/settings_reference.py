"""The settings reference page, generated from `authgate.settings.Settings` so that it cannot drift.

    .venv/bin/python docs/hooks/settings_reference.py      # rewrite docs/reference/settings.md

As an MkDocs hook (mkdocs.yml `hooks:`), it fails the build when the committed
page differs from what `settings.py` says; tests/docs checks the same.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

PAGE = Path(__file__).resolve().parent.parent / "reference" / "settings.md"

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
    return (text or str(annotation)).replace("typing.", "").replace("pathlib.", "").replace("pydantic.types.", "").replace("NoneType", "None")


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


def is_fresh() -> bool:
    return PAGE.read_text(encoding="utf-8") == render()


def on_pre_build(config: Any) -> None:
    """MkDocs hook: a stale page fails the build."""
    if not is_fresh():
        from mkdocs.exceptions import PluginError

        raise PluginError(
            "docs/reference/settings.md is stale: run .venv/bin/python docs/hooks/settings_reference.py"
        )


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE}\n")
