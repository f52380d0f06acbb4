"""Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2, and the JWKS (RFC 7517 §5).

Lists exactly what the server supports; tests walk every endpoint it names.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authgate.http import paths
from authgate.oauth2.keys import ID_TOKEN_ALGORITHM
from authgate.oauth2.strength import ACR_VALUES
from authgate.settings import Settings

CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]
PUBLIC = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}


def metadata(settings: Settings) -> dict[str, Any]:
    issuer = settings.issuer
    document: dict[str, Any] = {"issuer": issuer}
    document.update({name: issuer + path for name, path in paths.DISCOVERED.items()})
    document.update(
        scopes_supported=["openid", "profile", "email", "offline_access"],
        response_types_supported=["code"],
        response_modes_supported=["query", "form_post"],
        grant_types_supported=["authorization_code", "refresh_token", "client_credentials", "password"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=[ID_TOKEN_ALGORITHM],  # ID tokens are always RS256 (oidc/id_tokens.py)
        userinfo_signing_alg_values_supported=["none"],
        token_endpoint_auth_methods_supported=[*CLIENT_AUTH, "none"],
        revocation_endpoint_auth_methods_supported=[*CLIENT_AUTH, "none"],
        introspection_endpoint_auth_methods_supported=CLIENT_AUTH,
        code_challenge_methods_supported=["S256"],  # RFC 7636 §4.2: plain is not offered
        prompt_values_supported=["none", "login", "consent"],
        claims_supported=[
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "sid",
            "name", "preferred_username", "email", "email_verified", "updated_at",
        ],
        acr_values_supported=list(ACR_VALUES),
        # Only `acr` is read from a `claims` request (oidc/authorization_request.py); the rest is ignored.
        claims_parameter_supported=False,
        request_parameter_supported=False,
        request_uri_parameter_supported=False,
        authorization_response_iss_parameter_supported=True,  # RFC 9207
        # RFC 9068: access tokens are JWTs signed with this algorithm.
        access_token_signing_alg_values_supported=[settings.signing_algorithm],
    )
    if settings.client_registration != "off":
        document["registration_endpoint"] = issuer + paths.REGISTRATION  # RFC 7591 §3, RFC 8414 §2
    return document


async def openid_configuration(request: Request) -> JSONResponse:
    return JSONResponse(metadata(request.app.state.services.settings), headers=PUBLIC)


async def jwks(request: Request) -> JSONResponse:
    keys = await run_in_threadpool(request.app.state.services.keys.jwks)
    # Short cache: after a rotation the new key must be reachable quickly.
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"},
                        media_type="application/jwk-set+json")


routes = [
    Route(paths.OPENID_CONFIGURATION, openid_configuration, methods=["GET"]),
    Route(paths.AUTHORIZATION_SERVER_METADATA, openid_configuration, methods=["GET"]),
    Route(paths.JWKS, jwks, methods=["GET"]),
]
