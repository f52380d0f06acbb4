"""The message templates: packaged ones, overridable file by file from `email_templates_dir` (branding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

PACKAGED = Path(__file__).resolve().parent / "templates"


def environment(override_dir: Path | None) -> Environment:
    loaders: list[Any] = []
    if override_dir is not None:
        loaders.append(FileSystemLoader(str(override_dir)))
    loaders.append(FileSystemLoader(str(PACKAGED)))
    # HTML parts escape what they interpolate (a name could hold markup); text parts and subjects must not.
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


__all__ = ["PACKAGED", "environment"]
