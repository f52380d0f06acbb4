"""OpenID Connect: discovery, the authorization endpoint, ID tokens, userinfo, logout."""
