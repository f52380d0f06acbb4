"""How strongly the user authenticated, as tokens say it: `amr` (RFC 8176) and `acr` (OIDC Core §2).

The methods (`amr`) come from the browser session (or the password grant:
`pwd`) and travel with the authorization code into the refresh token family,
so every token of a login — first or refreshed — states the same strength.
`acr` is derived from them, by this one rule: `urn:authgate:acr:mfa` when
more than one factor was shown (`mfa` in amr), else `urn:authgate:acr:password`.
Access tokens carry both as well (RFC 9068 §2.2.1 allows `acr`, `amr`,
`auth_time`), so a resource server can require a level (RFC 9470).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from authgate.accounts.mfa import MFA

ACR_PASSWORD = "urn:authgate:acr:password"
ACR_MFA = "urn:authgate:acr:mfa"
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)  # weakest first: discovery's acr_values_supported


def acr_of(amr: Iterable[str]) -> str:
    return ACR_MFA if MFA in amr else ACR_PASSWORD


def claims_of(amr: Sequence[str]) -> dict[str, Any]:
    """`acr` and `amr` for a user's token; none for a token without a user (client credentials)."""
    if not amr:
        return {}
    return {"acr": acr_of(amr), "amr": list(amr)}


def asks_for_mfa(acr_values: Iterable[str]) -> bool:
    """OIDC Core §3.1.2.1 acr_values: a client naming only the MFA level gets MFA (step-up).

    A request that also accepts the password level is satisfied by either (the ID token says which)."""
    values = set(acr_values)
    return ACR_MFA in values and ACR_PASSWORD not in values
