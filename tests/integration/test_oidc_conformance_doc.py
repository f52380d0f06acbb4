"""docs/conformance.md names tests; every one of them must exist (file, function and parametrised id)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DOC = TESTS.parent / "docs" / "conformance.md"
REFERENCE = re.compile(r"`((?:integration|browser)/[\w/]+\.py)::(\w+)(?:\[([\w-]+)\])?`")
BARE_ID = re.compile(r"`\[([\w-]+)\]`")


def test_every_test_the_conformance_page_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    references = REFERENCE.findall(text)
    assert len(references) >= 40
    for path, function, case in references:
        source = (TESTS / path).read_text(encoding="utf-8")
        names = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
        assert function in names, f"{path}::{function} does not exist"
        if case:
            assert f'id="{case}"' in source or f'"{case}"' in source, f"{path}::{function}[{case}] has no such case"


def test_bare_case_ids_exist_somewhere() -> None:
    sources = "".join(path.read_text(encoding="utf-8") for path in (TESTS / "integration").glob("test_oidc_*.py"))
    for case in BARE_ID.findall(DOC.read_text(encoding="utf-8")):
        assert f'id="{case}"' in sources, case
