"""segments.routing_path: a `/` or `%` stays inside its segment; `decoded` gives the name back."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest

from authgate.admin.app import build
from authgate.admin.segments import decoded, routing_path

NAMES = [
    "https://amb.test/api/permissions/read",
    "urn:a%2Fb",
    "50%",
    "a?b#c",
    "night shift",
    "café/☕",
    "%",
    "a%zz",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_percent_encoded_name_is_one_segment_that_decodes_to_itself(name: str) -> None:
    raw = f"/admin/api/apis/{quote(name, safe='')}/permissions"
    path = routing_path({"path": unquote(raw), "raw_path": raw.encode()})
    segments = path.split("/")
    assert (
        segments[1:4] == ["admin", "api", "apis"]
        and segments[5] == "permissions"
        and len(segments) == 6
    )
    assert decoded(segments[4]) == name


def test_bare_slashes_stay_separators() -> None:
    raw = "/admin/api/apis/https://amb.test/api/permissions/read"
    assert routing_path({"path": raw, "raw_path": raw.encode()}) == raw


@pytest.mark.parametrize(
    ("description", "scope", "expected"),
    [
        (
            "a root path before the raw path",
            {"path": "/auth/admin/a%2Fb", "raw_path": b"/admin/a%252Fb"},
            "/auth/admin/a%252Fb",
        ),
        (
            "no raw path: route on the path, its % still undone by decoded",
            {"path": "/admin/50%41"},
            "/admin/50%2541",
        ),
        (
            "a raw path that does not match the path",
            {"path": "/admin/x", "raw_path": b"/other"},
            "/admin/x",
        ),
    ],
)
def test_servers_that_give_less_or_more(
    description: str, scope: dict[str, object], expected: str
) -> None:
    assert routing_path(scope) == expected, description


def test_the_openapi_document_names_one_segment_per_identifier() -> None:
    document = build().openapi()
    paths = document["paths"]
    assert "/apis/{identifier}/permissions/{permission}" in paths
    assert not any(":path" in path for path in paths)
    parameter = next(
        p for p in paths["/apis/{identifier}"]["get"]["parameters"] if p["name"] == "identifier"
    )
    assert "%2F" in parameter["description"]
