"""The CLI's one handle on settings and services, built on first use.

Imported on first use too: the settings and the services (which import every package) are loaded by the
commands that need them, so `authgate --help` and a refused setting start in a fraction of the time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from authgate.cli.output import fail

if TYPE_CHECKING:
    from authgate.services import Services
    from authgate.settings import Settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    from pydantic import ValidationError

    from authgate.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "AUTHGATE_" + "_".join(str(part) for part in first["loc"]).upper()
        raise fail(f"{name}: {first['msg']}") from None
    except (OSError, ValueError) as error:
        raise fail(f"cannot read settings: {error}") from None


@lru_cache(maxsize=1)
def _services() -> Services:
    from authgate.services import Services

    return Services(settings())


def services(*, prepares_schema: bool = False) -> Services:
    """The services; unless the command creates the schema itself (init, apply, serve, demo), insist it is
    current — and never create an empty SQLite file by looking for it."""
    if not prepares_schema:
        _require_database_file()
    built = _services()
    if not prepares_schema:
        _require_current_schema(built)
    return built


def database_name() -> str:
    """The database this command uses, as people recognise it: the SQLite file, or the URL without its password."""
    from sqlalchemy.engine import make_url

    url = make_url(settings().resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _require_database_file() -> None:
    from sqlalchemy.engine import make_url

    url = make_url(settings().resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    if not Path(url.database).exists():
        raise fail(f"no authgate database at {url.database} (set AUTHGATE_DATA_DIR or AUTHGATE_DATABASE_URL, "
                   "or run `authgate init` to create it there)")


@lru_cache(maxsize=1)
def _require_current_schema(built: Services) -> None:
    from authgate.storage import migrate

    current = migrate.current_revision(built.database)
    head = migrate.head_revision(built.database)
    if current is None:
        raise fail(f"the database {database_name()} has no authgate schema yet; run `authgate init` first")
    if current != head:
        raise fail(f"the database {database_name()} has schema {current}, this version needs {head}; "
                   "run `authgate init` to upgrade")


def read_secret_from_stdin(what: str) -> str:
    import sys

    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise fail(f"expected the {what} on standard input")
    return value
