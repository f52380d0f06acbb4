"""Every protocol endpoint's path, listed once.

Discovery publishes them (`DISCOVERED`, keyed by the metadata field that
names each one: OpenID Connect Discovery 1.0 §3, RFC 8414 §2), the routers
mount their handlers on them, and code that redirects or builds a URL reads
them from here, so a path changes in one place. The hosted pages' own paths
(account, password reset…) stay with the pages in `web/pages/`.
"""

from __future__ import annotations

from typing import Final

AUTHORIZE: Final = "/authorize"
TOKEN: Final = "/oauth/token"
USERINFO: Final = "/userinfo"
JWKS: Final = "/.well-known/jwks.json"
REVOCATION: Final = "/oauth/revoke"
INTROSPECTION: Final = "/oauth/introspect"
END_SESSION: Final = "/logout"
REGISTRATION: Final = "/oauth/register"  # RFC 7591 §3: published only when registration is on

OPENID_CONFIGURATION: Final = "/.well-known/openid-configuration"  # OpenID Connect Discovery 1.0 §4
AUTHORIZATION_SERVER_METADATA: Final = "/.well-known/oauth-authorization-server"  # RFC 8414 §3

# The hosted pages the authorization endpoint sends a person to.
LOGIN: Final = "/login"
CONSENT: Final = "/consent"

DISCOVERED: Final = {
    "authorization_endpoint": AUTHORIZE,
    "token_endpoint": TOKEN,
    "userinfo_endpoint": USERINFO,
    "jwks_uri": JWKS,
    "revocation_endpoint": REVOCATION,
    "introspection_endpoint": INTROSPECTION,
    "end_session_endpoint": END_SESSION,
}
"""The metadata field naming each always-published endpoint, and its path."""
