"""Domain errors: what went wrong, in terms of users, roles and clients — never HTTP.

Each carries a stable `code` that the admin API and the CLI show the same way.
`message` is safe to show to the operator; it never contains a secret.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!s} does not exist")
        self.kind = kind
        self.key = key


class AlreadyExists(DomainError):
    code = "already_exists"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!s} already exists")
        self.kind = kind
        self.key = key


class InvalidInput(DomainError):
    code = "invalid_input"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class WeakPassword(InvalidInput):
    code = "weak_password"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="password")


class Conflict(DomainError):
    """The change contradicts existing state (e.g. removing a permission still granted)."""

    code = "conflict"
