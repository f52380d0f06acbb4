"""OAuth 2.x protocol: grants, endpoints and the artifacts they issue (a module per grant and per RFC endpoint)."""
