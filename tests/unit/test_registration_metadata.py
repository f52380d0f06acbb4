"""parse_client_metadata: any body gives a checked value or an RFC 7591 error, never anything else."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authgate.oauth2.errors import OAuthError
from authgate.registration.errors import InvalidClientMetadata, InvalidRedirectUri
from authgate.registration.metadata import check_redirect_uri, parse_client_metadata

FIELDS = ["redirect_uris", "token_endpoint_auth_method", "grant_types", "response_types", "scope",
          "client_name", "application_type", "client_uri", "contacts"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
uris = st.sampled_from(["https://a.example/cb", "http://127.0.0.1:1/cb", "http://[::1]/cb", "javascript:x",
                        "http://evil.example/", "https://a.example/#f", "", "http://127.0.0.1:x/"])
documents = st.dictionaries(st.sampled_from(FIELDS), json_values | uris | st.lists(uris, max_size=3), max_size=6)


@settings(max_examples=300, deadline=None)
@given(document=documents, public_only=st.booleans())
def test_any_metadata_is_accepted_or_refused_with_an_rfc_7591_error(document: dict[str, Any],
                                                                   public_only: bool) -> None:
    try:
        metadata = parse_client_metadata(json.dumps(document).encode(), public_only=public_only)
    except (InvalidClientMetadata, InvalidRedirectUri) as error:
        assert error.status_code == 400 and error.description
        return
    except OAuthError as error:  # pragma: no cover - would be a bug
        pytest.fail(f"unexpected error {error.error}")
    assert metadata.redirect_uris and all(check_redirect_uri(uri) == uri for uri in metadata.redirect_uris)
    assert not public_only or metadata.is_public


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_are_accepted_or_invalid_client_metadata(body: bytes) -> None:
    with contextlib.suppress(InvalidClientMetadata, InvalidRedirectUri):
        parse_client_metadata(body, public_only=True)


@pytest.mark.parametrize("uri", ["https://app.example/cb", "http://127.0.0.1/cb", "http://127.0.0.1:65535/cb?x=1",
                                 "http://[::1]:8080/callback"])
def test_good_redirect_uris(uri: str) -> None:
    assert check_redirect_uri(uri) == uri


@pytest.mark.parametrize("uri", ["http://localhost/cb", "http://10.0.0.1/cb", "ftp://a.example/", "https:///cb",
                                 "https://a.example/c b", "https://a.example/\x00", "data:text/html,x",
                                 "https://u:p@a.example/", "http://127.0.0.1:0x50/"])
def test_bad_redirect_uris(uri: str) -> None:
    with pytest.raises(InvalidRedirectUri):
        check_redirect_uri(uri)
