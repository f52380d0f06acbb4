"""The request body of the token, revocation and introspection endpoints (RFC 6749 §3.2).

Checked before anything else: POST only, `application/x-www-form-urlencoded`
only, a bounded body, UTF-8, no parameter twice, and no control character in
any parameter (`Form` applies the last two wherever OAuth parameters arrive,
the authorization endpoint's query string included).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.requests import Request

from authgate import text
from authgate.oauth2.errors import InvalidRequest, MethodNotAllowed, PayloadTooLarge

MAX_BODY_BYTES = 16 * 1024
MAX_FIELDS = 64
# RFC 8707 §2: `resource` may be repeated; every other parameter may not.
REPEATABLE = frozenset({"resource"})


class Form:
    """The parsed parameters. Empty values count as omitted (RFC 6749 §3.1)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)
        # RFC 6749 Appendix A: no parameter's syntax admits a control character (VSCHAR, NQCHAR,
        # UNICODECHARNOCRLF; tab, CR and LF pass for JSON-valued ones such as OIDC `claims`).
        # One search over everything (the token endpoint's hot path), the culprit only on failure.
        everything = "".join(self._values) + "".join(map("".join, self._values.values()))
        if not text.is_acceptable(everything):
            culprit = next(name for name, values in self._values.items()
                           if not text.is_acceptable(name + "".join(values)))
            raise InvalidRequest(f"Parameter {text.shown(culprit)!r} contains a character no "
                                 "OAuth parameter may hold.")
        # RFC 6749 §3.2: request and response parameters MUST NOT be included more than once.
        repeated = sorted(name for name, values in self._values.items() if len(values) > 1 and name not in REPEATABLE)
        if repeated:
            raise InvalidRequest(f"Parameter {repeated[0]!r} is included more than once.")

    def get(self, name: str) -> str | None:
        values = self._values.get(name)
        if not values or values[0] == "":
            return None
        return values[0]

    def get_all(self, name: str) -> list[str]:
        return [value for value in self._values.get(name, ()) if value != ""]

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise InvalidRequest(f"Parameter {name!r} is required.")
        return value

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


async def read_form(request: Request) -> Form:
    """RFC 6749 §3.2: the client MUST use POST with application/x-www-form-urlencoded parameters."""
    if request.method != "POST":
        raise MethodNotAllowed()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("The body must be application/x-www-form-urlencoded.")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise PayloadTooLarge("The request body is too large.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge("The request body is too large.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FIELDS, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InvalidRequest("The body is not valid UTF-8.") from None
    except ValueError:
        raise InvalidRequest("The body has too many parameters.") from None
    return Form(pairs)
