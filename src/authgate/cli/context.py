"""The CLI's one handle on settings and services, built on first use."""

from __future__ import annotations

from functools import lru_cache

from pydantic import ValidationError

from authgate.cli.output import fail
from authgate.services import Services
from authgate.settings import Settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "AUTHGATE_" + "_".join(str(part) for part in first["loc"]).upper()
        raise fail(f"{name}: {first['msg']}") from None
    except (OSError, ValueError) as error:
        raise fail(f"cannot read settings: {error}") from None


@lru_cache(maxsize=1)
def services() -> Services:
    return Services(settings())


def read_secret_from_stdin(what: str) -> str:
    import sys

    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise fail(f"expected the {what} on standard input")
    return value
