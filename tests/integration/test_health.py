"""The server answers /healthz, /readyz and discovery over real HTTP, on both databases."""

import httpx


def test_health_and_readiness(live_server):
    assert httpx.get(live_server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(live_server.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


def test_discovery_names_this_issuer_and_a_jwks_with_keys(live_server):
    document = httpx.get(live_server.url + "/.well-known/openid-configuration").json()
    assert document["issuer"] == live_server.url
    assert httpx.get(live_server.url + "/.well-known/oauth-authorization-server").json() == document
    keys = httpx.get(document["jwks_uri"]).json()["keys"]
    assert {key["alg"] for key in keys} >= {"ES256", "RS256"}
    assert all("d" not in key and "p" not in key for key in keys), "private parts must never be published"


def test_readyz_is_503_when_the_database_is_gone(make_settings, tmp_path):
    from authgate.services import Services
    from authgate.web.app import create_app
    from testkit import LiveServer, free_port

    settings = make_settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none")
    server = LiveServer(create_app(services=Services(settings)), free_port()).start()
    try:
        response = httpx.get(server.url + "/readyz")
        assert response.status_code == 503
        assert response.headers["retry-after"]
    finally:
        server.stop()
