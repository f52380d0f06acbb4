"""What the admin API accepts: request bodies and the shapes of names, shared by the API and the console.

Responses are the views in `authgate.views`, shared with the CLI. The
constraints here mirror the domain's and the columns' (lengths, allowed
characters), so the OpenAPI document says what the server accepts and
nothing reaches the database that it would refuse: no control characters
(PostgreSQL rejects NUL), no lone surrogates (not encodable as UTF-8).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.json_schema import SkipJsonSchema

from authgate.access.clients import GRANT_TYPES
from authgate.storage import limits
from authgate.views import ClientView

T = TypeVar("T")

# No control characters: nothing an operator types into a name contains one.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def _no_surrogates(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _text(max_length: int, *, min_length: int = 0, pattern: str = PRINTABLE) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)


def _name(first: str, rest: str, max_length: int) -> str:
    """A name's pattern: one character of `first`, then up to `max_length` - 1 of `rest`."""
    return rf"^[{first}][{rest}]{{0,{max_length - 1}}}$"


UNICODE = AfterValidator(_no_surrogates)

# The domain's own rules (accounts/users.py, access/*.py), as patterns a client can read; every
# length is the column's (storage/limits.py), so nothing valid here is too long to store.
Username = Annotated[str, _text(limits.USERNAME, min_length=1,
                                pattern=_name("A-Za-z0-9", "A-Za-z0-9._@+-", limits.USERNAME)), UNICODE]
Email = Annotated[str, _text(limits.EMAIL,
                             pattern=r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}$"), UNICODE]
DisplayName = Annotated[str, _text(limits.DISPLAY_NAME), UNICODE]
ClientName = Annotated[str, _text(limits.CLIENT_NAME), UNICODE]
Password = Annotated[str, _text(1024, min_length=1, pattern=r"^[^\x00]*$"), UNICODE]
RoleName = Annotated[str, _text(limits.ROLE_NAME, min_length=1,
                                pattern=_name("A-Za-z0-9", "A-Za-z0-9 ._:-", limits.ROLE_NAME)), UNICODE]
Description = Annotated[str, _text(limits.DESCRIPTION), UNICODE]
ApiIdentifier = Annotated[str, _text(limits.API_IDENTIFIER, min_length=1,
                                     pattern=r"^[^\s\x00-\x1f\x7f]+$"), UNICODE]
ApiName = Annotated[str, _text(limits.API_NAME), UNICODE]
# RFC 6749 §3.3: a scope token is NQCHAR, no space, no quote, no backslash.
PermissionName = Annotated[str, _text(limits.PERMISSION_NAME, min_length=1,
                                      pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$"), UNICODE]
ClientId = Annotated[str, _text(limits.CLIENT_ID, min_length=1,
                                pattern=_name("A-Za-z0-9", "A-Za-z0-9._:-", limits.CLIENT_ID)), UNICODE]
ClientSecret = Annotated[str, _text(200, min_length=32, pattern=r"^[\x21-\x7e]+$"), UNICODE]
SessionId = Annotated[str, _text(limits.SESSION_ID, min_length=1, pattern=r"^[A-Za-z0-9_-]+$"),
                      UNICODE]
Uri = Annotated[str, _text(2000, min_length=1, pattern=r"^[^\s\x00-\x1f\x7f]+$"), UNICODE]
Grants = dict[ApiIdentifier, list[PermissionName]]


# Query parameters arrive as text; accept only the text the document promises, not what lax parsing would.
def _decimal_integer(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,19}", value):
        raise ValueError("expected a decimal integer")
    return value


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("expected an RFC 3339 date-time with an offset, e.g. 2024-05-01T12:00:00Z")
    return value


# Put after the bounds (`Annotated[int, Ge(1), Le(9), DECIMAL]`) so the document still shows them.
DECIMAL = BeforeValidator(_decimal_integer)
QueryDateTime = Annotated[datetime, BeforeValidator(_rfc3339)]
GrantType = Literal["authorization_code", "refresh_token", "client_credentials", "password"]
assert set(get_args(GrantType)) == set(GRANT_TYPES), "GrantType must list the grant types clients.py knows"
DEFAULT_GRANTS: tuple[GrantType, ...] = ("authorization_code", "refresh_token")
GrantTypes = Annotated[list[GrantType], Field(max_length=len(GRANT_TYPES))]
UriList = Annotated[list[Uri], Field(max_length=50)]


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


# A field a change may leave out but not set to null (null would mean nothing there):
# `Annotated[bool | SkipJsonSchema[None], NOT_NULL] = None` — the document shows a plain boolean.
NOT_NULL = BeforeValidator(_not_null)


def _no_null_defaults(schema: dict[str, Any]) -> None:
    """Drop `"default": null` from properties that do not accept null (those left-out-only fields)."""
    for prop in schema.get("properties", {}).values():
        branches = [prop, *prop.get("anyOf", [])]
        accepts_null = any(branch.get("type") == "null" for branch in branches)
        if "default" in prop and prop["default"] is None and not accepts_null:
            del prop["default"]


class Body(BaseModel):
    """A request body: unknown fields are refused, not ignored; `"true"` is not a boolean, nor `"5"` a number."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_no_null_defaults)


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated list."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as the cursor parameter (`after` or `before`) for the next page; null on the last page."
    )


# --- users ------------------------------------------------------------------------
class UserCreate(Body):
    username: Username
    email: Email | None = None
    name: DisplayName | None = None
    password: Password | None = Field(None, description="Checked against the password policy; omit for none.")
    roles: list[RoleName] = Field(default_factory=list, max_length=100)
    disabled: bool = False
    email_verified: bool = False


class UserChange(Body):
    """Only the fields present change; `null` clears email or name."""

    email: Email | None = None
    name: DisplayName | None = None
    disabled: Annotated[bool | SkipJsonSchema[None], NOT_NULL] = None
    email_verified: Annotated[bool | SkipJsonSchema[None], NOT_NULL] = None


class PasswordSet(Body):
    password: Password


class RoleList(Body):
    roles: list[RoleName] = Field(max_length=100)


# --- roles ------------------------------------------------------------------------
REQUIRE_MFA = ("Holders must sign in with a second factor; null: the default (only the built-in admin role, once "
               "one of its holders has a factor).")
class RoleCreate(Body):
    name: RoleName
    description: Description | None = None
    permissions: Grants = Field(default_factory=dict, description="{API identifier: [permission, ...]}")
    require_mfa: bool | None = Field(None, description=REQUIRE_MFA)


class RoleChange(Body):
    description: Annotated[Description | SkipJsonSchema[None], NOT_NULL] = Field(
        None, description="An empty string clears it."
    )
    require_mfa: bool | None = Field(None, description=REQUIRE_MFA + " Absent: unchanged.")


class GrantSet(Body):
    permissions: Grants = Field(description="{API identifier: [permission, ...]}; replaces what was held.")


# --- APIs ---------------------------------------------------------------------------
class ApiCreate(Body):
    identifier: ApiIdentifier = Field(description="The audience of its tokens; a URI is usual.")
    name: ApiName | None = None
    permissions: list[PermissionName] = Field(default_factory=list, max_length=500)


class ApiChange(Body):
    name: Annotated[ApiName | SkipJsonSchema[None], NOT_NULL] = None


class PermissionCreate(Body):
    name: PermissionName
    description: Description | None = None


class PermissionSet(Body):
    permissions: list[PermissionName] = Field(max_length=500)


# --- clients --------------------------------------------------------------------------
class ClientFields(Body):
    name: ClientName | None = None
    redirect_uris: UriList = Field(default_factory=list)
    post_logout_redirect_uris: UriList = Field(default_factory=list)
    web_origins: UriList = Field(default_factory=list)
    grant_types: GrantTypes = Field(default_factory=lambda: list(DEFAULT_GRANTS))
    first_party: bool = True
    default_audience: ApiIdentifier | None = None
    permissions: Grants = Field(default_factory=dict, description="Direct grants, for machine clients.")
    disabled: bool = False


class ClientCreate(ClientFields):
    client_id: ClientId
    type: Literal["public", "confidential"] = "confidential"
    client_secret: ClientSecret | None = Field(
        None, description="Omit to have one generated (returned once)."
    )


class ClientChange(Body):
    """Only the fields present change; lists replace what the client had; `null` clears name or default_audience."""

    name: ClientName | None = None
    redirect_uris: Annotated[UriList | SkipJsonSchema[None], NOT_NULL] = None
    post_logout_redirect_uris: Annotated[UriList | SkipJsonSchema[None], NOT_NULL] = None
    web_origins: Annotated[UriList | SkipJsonSchema[None], NOT_NULL] = None
    grant_types: Annotated[GrantTypes | SkipJsonSchema[None], NOT_NULL] = None
    first_party: Annotated[bool | SkipJsonSchema[None], NOT_NULL] = None
    default_audience: ApiIdentifier | None = None
    permissions: Annotated[Grants | SkipJsonSchema[None], NOT_NULL] = None
    disabled: Annotated[bool | SkipJsonSchema[None], NOT_NULL] = None



class ClientCreated(ClientView):
    client_secret: str | None = Field(
        description="The generated secret of a confidential client: shown this once, never again."
    )


class SecretIssued(BaseModel):
    client_id: str
    client_secret: str = Field(description="Shown this once; the old secret stops working now.")
