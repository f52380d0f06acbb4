"""The realm file: YAML or JSON, validated whole before anything touches the database.

Every mapping remembers the line it started on, so an error names the bad
entry and its line ("users[3] (line 42): password: ..."). Every problem in the
file is reported at once, in our words ("unknown key 'pasword' (did you mean
'password'?)"), never with the value given: it may be a secret.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from authgate.provisioning.identity_providers import IdentityProviderEntry


class RealmFileError(Exception):
    """The file cannot be applied; nothing was changed. `problems`: one line each."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


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
    require_mfa: bool | None = None  # absent: left as it is (a new role: the default, accounts/mfa.py)


class UserEntry(_Entry):
    username: str
    subject: str | None = None  # the `sub` of the user's tokens; kept by export → apply, set only on creation
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
    secret_hash: str | None = Field(default=None, repr=False)  # what `export --include-secrets` writes
    redirect_uris: list[str] = Field(default_factory=list)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    web_origins: list[str] = Field(default_factory=list)
    grant_types: list[str] = Field(default_factory=lambda: ["authorization_code", "refresh_token"])
    first_party: bool = True
    default_audience: str | None = None
    permissions: Grants = Field(default_factory=dict)
    disabled: bool = False

    @model_validator(mode="after")
    def _one_secret(self) -> ClientEntry:
        if self.client_secret is not None and self.secret_hash is not None:
            raise ValueError("give client_secret or secret_hash, not both")
        return self


class WebhookEntry(_Entry):
    url: str
    events: list[str]
    description: str | None = None
    secret: str | None = Field(default=None, repr=False)  # whsec_…; omitted: generated and printed once


class RealmFile(_Entry):
    apis: list[ApiEntry] = Field(default_factory=list)
    roles: list[RoleEntry] = Field(default_factory=list)
    users: list[UserEntry] = Field(default_factory=list)
    clients: list[ClientEntry] = Field(default_factory=list)
    webhooks: list[WebhookEntry] = Field(default_factory=list)
    identity_providers: list[IdentityProviderEntry] = Field(default_factory=list)
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
        data = yaml.load(text, Loader=_Loader) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise RealmFileError(f"{source}:{where}: not valid YAML/JSON: {problem}") from error
    if not isinstance(data, dict):
        raise RealmFileError(f"{source}: the top level must be a mapping with apis, roles, users, clients, "
                             "webhooks, identity_providers")
    lines = {
        (section, index): getattr(entry, "line", 0)
        for section in SECTIONS
        if isinstance(data.get(section), list)
        for index, entry in enumerate(data[section])
    }
    problems = _duplicates(data, lines)
    try:
        realm = RealmFile.model_validate(data)
    except ValidationError as error:
        problems = _validation_problems(error, lines) + problems
    if problems:
        raise RealmFileError(*(f"{source}: {problem}" for problem in problems))
    realm.lines = lines
    return realm


SECTIONS: dict[str, type[BaseModel]] = {
    "apis": ApiEntry, "roles": RoleEntry, "users": UserEntry, "clients": ClientEntry, "webhooks": WebhookEntry,
    "identity_providers": IdentityProviderEntry,
}
# What names each entry, and how two names are the same one (usernames are case-insensitive).
_KEYS: dict[str, tuple[str, Callable[[str], str]]] = {
    "apis": ("identifier", str), "roles": ("name", str), "users": ("username", lambda value: value.strip().casefold()),
    "clients": ("client_id", str), "webhooks": ("url", str), "identity_providers": ("alias", str),
}


def _duplicates(data: Mapping[str, Any], lines: dict[tuple[str, int], int]) -> list[str]:
    problems = []
    for section, (key, same) in _KEYS.items():
        entries = data.get(section)
        seen: set[str] = set()
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            value = entry.get(key) if isinstance(entry, dict) else None
            if not isinstance(value, str):
                continue
            if same(value) in seen:
                problems.append(f"{_where(section, index, lines)}: {value!r} is listed twice")
            seen.add(same(value))
    return problems


def _validation_problems(error: ValidationError, lines: dict[tuple[str, int], int]) -> list[str]:
    """One line per bad key; a union's alternatives (`str`, `dict[...]`) are one problem, not several."""
    problems: dict[str, str] = {}
    for item in error.errors():
        location = [part for part in item["loc"] if not (isinstance(part, str) and ("[" in part or part in _TYPES))]
        unknown = item["type"] == "extra_forbidden"  # the key is named in the message, not in where
        where = _describe_location(location[:-1] if unknown else location, lines) if location[:-1] or not unknown \
            else "top level"
        problems.setdefault(where, _in_our_words(item["type"], location, item["msg"]))
    return [f"{where}: {problem}" for where, problem in problems.items()]


_TYPES = {"str", "int", "bool", "float"}
_OWN_WORDS = {
    "missing": "is required",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "model_type": "must be a mapping of keys",
}


def _in_our_words(kind: str, location: list[Any], message: str) -> str:
    if kind == "extra_forbidden":
        return _unknown_key(location)
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "literal_error":
        return message.replace("Input should be", "must be")
    return _OWN_WORDS.get(kind, message)


def _unknown_key(location: list[Any]) -> str:
    """`unknown key 'pasword' (did you mean 'password'?)` — the keys its entry (or the file) knows."""
    key = str(location[-1])
    model: type[BaseModel] = SECTIONS.get(str(location[0]), RealmFile) if len(location) > 1 else RealmFile
    known = [name for name in model.model_fields if name != "lines"]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(known)}"
    return f"unknown key {key!r} ({hint})"


def _where(section: str, index: int, lines: dict[tuple[str, int], int]) -> str:
    line = lines.get((section, index))
    return f"{section}[{index}]" + (f" (line {line})" if line else "")


def _describe_location(location: list[Any], lines: dict[tuple[str, int], int]) -> str:
    if len(location) >= 2 and isinstance(location[1], int):
        head = _where(str(location[0]), location[1], lines)
        rest = ".".join(str(part) for part in location[2:])
        return f"{head} {rest}".strip()
    return ".".join(str(part) for part in location) or "file"
