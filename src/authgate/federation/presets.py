"""Ready-made settings for well-known providers: only their endpoints and claim mappings.

A preset fills in what an entry leaves out; anything the entry gives wins.
Every preset goes through the same generic code path as a hand-written entry.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # https://accounts.google.com/.well-known/openid-configuration
    "google": {"type": "oidc", "issuer": "https://accounts.google.com", "display_name": "Google",
               "scopes": ["openid", "email", "profile"]},
    # The issuer names the tenant: https://login.microsoftonline.com/<tenant id>/v2.0 (give it in the entry;
    # the multi-tenant "common" document's issuer is a template that no ID token matches).
    "microsoft": {"type": "oidc", "display_name": "Microsoft", "scopes": ["openid", "email", "profile"]},
    "gitlab": {"type": "oidc", "issuer": "https://gitlab.com", "display_name": "GitLab",
               "scopes": ["openid", "email", "profile"]},
    # GitHub speaks OAuth 2.0 only: no discovery, no ID token; who signed in comes from its user API.
    "github": {
        "type": "oauth2", "display_name": "GitHub", "scopes": ["read:user", "user:email"],
        "authorization_endpoint": "https://github.com/login/oauth/authorize",
        "token_endpoint": "https://github.com/login/oauth/access_token",
        "userinfo_endpoint": "https://api.github.com/user",
        "claims": {"subject": "id", "username": "login", "name": "name", "email": "email"},
    },
}
