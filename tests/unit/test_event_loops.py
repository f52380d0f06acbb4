"""A test that runs an event loop of its own does it in a fresh thread (`testkit.in_own_thread`).

The browser tests' Playwright (sync API) keeps an event loop running in the xdist worker's main thread for
the rest of the session. Whether a test runs after it on the same worker depends on scheduling, so a bare
`asyncio.run` in a test passes or fails by chance (it failed CI once this way). This check makes that
mistake a failure every time, wherever it is written."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
RUNS_A_LOOP = {"asyncio.run", "anyio.run", "async_to_sync", "run_until_complete"}
SAFE_CALLERS = {"in_own_thread", "submit"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        owner = _name(node.value)
        return f"{owner}.{node.attr}" if owner in {"asyncio", "anyio"} else node.attr
    return ""


def loops_on_the_calling_thread(source: str) -> list[int]:
    """Line numbers of calls that run an event loop and are not inside an `in_own_thread(...)` or an
    executor's `submit(...)` call."""
    found: list[int] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in RUNS_A_LOOP and not guarded:
                found.append(node.lineno)
            guarded = guarded or name in SAFE_CALLERS
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(ast.parse(source), guarded=False)
    return found


def test_no_test_runs_an_event_loop_on_the_workers_main_thread() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        for line in loops_on_the_calling_thread(path.read_text())
    ]
    assert offenders == [], "wrap these in testkit.in_own_thread(lambda: ...): " + ", ".join(offenders)


def test_the_check_finds_a_bare_run_and_accepts_a_wrapped_one() -> None:
    bare = "import asyncio\nasyncio.run(main())\n"
    wrapped = "import asyncio\nin_own_thread(lambda: asyncio.run(main()))\n"
    submitted = "import asyncio\npool.submit(asyncio.run, main()).result()\n"
    django = "from asgiref.sync import async_to_sync\nasync_to_sync(view)(request)\n"
    assert loops_on_the_calling_thread(bare) == [2]
    assert loops_on_the_calling_thread(django) == [2]
    assert loops_on_the_calling_thread(wrapped) == []
    assert loops_on_the_calling_thread(submitted) == []
