"""Signing in with another identity provider: authgate as an OpenID Connect / OAuth 2.0 relying party.

- `providers`: what an identity provider is (the spec every entry point checks
  the same way: realm file, admin API), its presets, and its storage with the
  client secret encrypted at rest.
- `upstream`: talking to a provider through Authlib's client and joserfc —
  discovery and keys cached with an injected clock, the authorization URL
  (PKCE S256, state, nonce), the code exchange, ID token verification.
- `attempts`: sign-ins in progress (single-use, short-lived, bound to the browser).
- `identities`: the upstream accounts linked to local users; first-login users.

The pages (`/login/idp/{alias}`, its callback, the linking form) live in
`web/pages/federation.py`. A federated login is recorded with the `amr`
value "fed" (not registered by RFC 8176, but common).
"""

AMR_FEDERATED = "fed"
