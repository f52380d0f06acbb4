"""HTTP helpers the protocol packages and the web layer share, below both.

CORS, the client's address, aborted requests, form reading, CSRF, browser
sessions, page rendering and the endpoint paths. Nothing here imports
`oauth2`, `oidc`, `registration`, `web` or `admin` (tests/unit/test_layers.py
enforces it; docs/architecture.md draws the layers).
"""
