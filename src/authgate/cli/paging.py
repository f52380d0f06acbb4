"""How list commands page: a table shows the first page and says when more exist; --json never truncates silently.

A table shows `DEFAULT_LIMIT` rows unless `--limit N` or `--all`. JSON is the whole list unless `--limit N`
is given, and then an object that says so: `{"items": [...], "limit": N, "more": true}`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import typer

from authgate.cli.output import console, emit_json, fail

DEFAULT_LIMIT = 50
T = TypeVar("T")  # a pydantic model or a dataclass

LimitOption = Annotated[int | None, typer.Option(
    "--limit", min=1, metavar="N",
    help=f"Show at most N (a table shows {DEFAULT_LIMIT} by default; --json shows all unless --limit is given).",
)]
AllFlag = Annotated[bool, typer.Option("--all", metavar="", help="Show all, however many.")]


@dataclass(frozen=True)
class PageRequest:
    """How many the caller asked for: `size` None is all of them; `limited` when --limit was given."""

    size: int | None
    limited: bool

    @classmethod
    def of(cls, limit: int | None, all_: bool, json_output: bool) -> PageRequest:
        if limit is not None and all_:
            raise fail("give --limit N or --all, not both")
        if all_:
            return cls(None, False)
        if limit is not None:
            return cls(limit, True)
        return cls(None if json_output else DEFAULT_LIMIT, False)

    def fetch(self) -> int | None:
        """How many to read: one more than shown, to know whether more exist."""
        return None if self.size is None else self.size + 1


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    more: bool

    @classmethod
    def cut(cls, items: Sequence[T], request: PageRequest) -> Page[T]:
        if request.size is None:
            return cls(list(items), False)
        return cls(list(items[: request.size]), len(items) > request.size)


def show(page: Page[T], request: PageRequest, *, what: str, json_output: bool, render: Callable[[list[T]], None],
         next_page: str | None = None) -> None:
    """Print the page as JSON or as a table, with a line saying how to see the rest when there is more."""
    if json_output:
        items = [_as_json(item) for item in page.items]
        if request.limited:
            emit_json({"items": items, "limit": request.size, "more": page.more})
        else:
            emit_json(items)
        return
    render(page.items)
    if page.more:
        rest = f"; {next_page} for the next page" if next_page else ""
        console.print(f"showing the first {len(page.items)} {what}; more exist: --all to show all, "
                      f"--limit N for more{rest}", highlight=False)


def _as_json(item: Any) -> Any:
    from pydantic import BaseModel  # loaded by then (the views are models); not for `authgate --help`

    if isinstance(item, BaseModel):
        return item.model_dump(mode="json")
    return dataclasses.asdict(item)
