"""The successful token response (RFC 6749 §5.1), built the same way by every grant.

    TokenResponse(access=services.access_tokens.issue(...), scope=[...],
                  refresh_token=..., id_token=..., subject_name=...).body()

`body()` gives ``access_token, token_type "Bearer", expires_in, scope`` and,
when present, ``refresh_token`` and ``id_token`` (OIDC Core §3.1.3.3).
`render()` adds ``Cache-Control: no-store`` and ``Pragma: no-cache``
(RFC 6749 §5.1: MUST). `subject_name` (a username, or the client_id for
machine tokens) is what the audit log names; it never reaches the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

from authgate.oauth2.access_tokens import IssuedToken
from authgate.oauth2.errors import NO_STORE


@dataclass(frozen=True)
class TokenResponse:
    access: IssuedToken
    scope: Sequence[str] = ()
    refresh_token: str | None = None
    id_token: str | None = None
    subject_name: str | None = None
    # Extra, non-secret facts for the audit event (e.g. {"refresh": "grace"}).
    audit_detail: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return token_response_body(self.access, scope=self.scope, refresh_token=self.refresh_token,
                                   id_token=self.id_token)

    def render(self, headers: Mapping[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), headers={**NO_STORE, **(headers or {})})


def token_response_body(
    access: IssuedToken, *, scope: Sequence[str] = (), refresh_token: str | None = None, id_token: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"access_token": access.token, "token_type": "Bearer", "expires_in": access.expires_in}
    if scope:
        # RFC 6749 §5.1: REQUIRED when it differs from the request; always sent, so clients need not guess.
        body["scope"] = " ".join(scope)
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    if id_token is not None:
        body["id_token"] = id_token
    return body
