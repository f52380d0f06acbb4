"""The realm file: YAML or JSON, validated whole before anything touches the database.

Every mapping remembers the line it started on, so an error names the bad
entry and its line ("users[3] (line 42): password: ...").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class RealmFileError(Exception):
    """The file cannot be applied; nothing was changed."""


class _LineDict(dict[str, Any]):
    line: int = 0


# libyaml's parser when available (much faster for large imports), same safe constructors.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        mapping = _LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        return mapping


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node),
)

Grants = dict[str, list[str]]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiEntry(_Entry):
    identifier: str
    name: str | None = None
    permissions: list[str | dict[str, str]] = Field(default_factory=list)

    def permission_names(self) -> list[str]:
        return [p if isinstance(p, str) else p.get("name", "") for p in self.permissions]


class RoleEntry(_Entry):
    name: str
    description: str | None = None
    permissions: Grants = Field(default_factory=dict)


class UserEntry(_Entry):
    username: str
    email: str | None = None
    name: str | None = None
    password: str | None = Field(default=None, repr=False)
    password_hash: str | dict[str, Any] | None = Field(default=None, repr=False)
    roles: list[str] = Field(default_factory=list)
    disabled: bool = False
    email_verified: bool = False

    @model_validator(mode="after")
    def _one_secret(self) -> UserEntry:
        if self.password is not None and self.password_hash is not None:
            raise ValueError("give password or password_hash, not both")
        return self


class ClientEntry(_Entry):
    client_id: str
    type: Literal["public", "confidential"] = "confidential"
    name: str | None = None
    client_secret: str | None = Field(default=None, repr=False)
    redirect_uris: list[str] = Field(default_factory=list)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    web_origins: list[str] = Field(default_factory=list)
    grant_types: list[str] = Field(default_factory=lambda: ["authorization_code", "refresh_token"])
    first_party: bool = True
    default_audience: str | None = None
    permissions: Grants = Field(default_factory=dict)
    disabled: bool = False


class RealmFile(_Entry):
    apis: list[ApiEntry] = Field(default_factory=list)
    roles: list[RoleEntry] = Field(default_factory=list)
    users: list[UserEntry] = Field(default_factory=list)
    clients: list[ClientEntry] = Field(default_factory=list)
    # Line of each entry, by (section, index), for error messages.
    lines: dict[tuple[str, int], int] = Field(default_factory=dict, exclude=True)

    def where(self, section: str, index: int) -> str:
        line = self.lines.get((section, index))
        return f"{section}[{index}]" + (f" (line {line})" if line else "")


def load_realm_file(path: Path) -> RealmFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RealmFileError(f"{path}: cannot read ({error.strerror})") from error
    except UnicodeDecodeError as error:
        raise RealmFileError(f"{path}: not UTF-8 text") from error
    return parse_realm(text, source=str(path))


def parse_realm(text: str, *, source: str = "<realm>") -> RealmFile:
    try:
        # JSON is YAML too, so one loader gives line numbers for both.
        data = yaml.load(text, Loader=_Loader) or {}  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise RealmFileError(f"{source}:{where}: not valid YAML/JSON: {problem}") from error
    if not isinstance(data, dict):
        raise RealmFileError(f"{source}: the top level must be a mapping with apis, roles, users, clients")
    lines = {
        (section, index): getattr(entry, "line", 0)
        for section in ("apis", "roles", "users", "clients")
        if isinstance(data.get(section), list)
        for index, entry in enumerate(data[section])
    }
    try:
        realm = RealmFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = list(first["loc"])
        where = _describe_location(location, lines)
        raise RealmFileError(f"{source}: {where}: {first['msg']}") from None
    realm.lines = lines
    _reject_duplicates(realm)
    return realm


def _reject_duplicates(realm: RealmFile) -> None:
    keys = {
        "apis": [entry.identifier for entry in realm.apis],
        "roles": [entry.name for entry in realm.roles],
        "users": [entry.username.strip().casefold() for entry in realm.users],
        "clients": [entry.client_id for entry in realm.clients],
    }
    for section, values in keys.items():
        seen: set[str] = set()
        for index, value in enumerate(values):
            if value in seen:
                raise RealmFileError(f"{realm.where(section, index)}: {value!r} is listed twice")
            seen.add(value)


def _describe_location(location: list[Any], lines: dict[tuple[str, int], int]) -> str:
    if len(location) >= 2 and isinstance(location[1], int):
        section, index = str(location[0]), location[1]
        line = lines.get((section, index))
        head = f"{section}[{index}]" + (f" (line {line})" if line else "")
        rest = ".".join(str(part) for part in location[2:])
        return f"{head} {rest}".strip()
    return ".".join(str(part) for part in location) or "file"
