from authgate.guard import Guard

# Auth0: the issuer ends with a slash; the audience is the API identifier you created there.
auth0 = Guard(issuer="https://example.eu.auth0.com/", audience="https://coffee.example/api",
              algorithms=["RS256"])

# Keycloak: one issuer per realm; access tokens name the audience only with an audience mapper,
# and carry roles rather than a `permissions` claim (check claims["realm_access"] yourself).
keycloak = Guard(issuer="https://sso.example.com/realms/coffee", audience="coffee-api",
                 algorithms=["RS256"])

# Any OpenID Connect provider: its issuer URL is enough; keys come from its discovery document.
# A provider that does not publish discovery: name the key set.
custom = Guard(issuer="https://login.example.org", audience="api://coffee",
               jwks_uri="https://login.example.org/keys", required_typ=None)
