"""Audit details read as `key: value` text, not Python reprs."""

import pytest

from authgate.audit import detail_lines


@pytest.mark.parametrize(("detail", "lines"), [
    pytest.param({"change": "user.created", "imported": False}, ["change: user.created", "imported: no"], id="bool"),
    pytest.param({"refresh_tokens_revoked": 2}, ["refresh tokens revoked: 2"], id="underscores read as spaces"),
    pytest.param({"roles": ["barista", "manager"]}, ["roles: barista, manager"], id="list"),
    pytest.param({"permissions": {"https://coffee.example/api": ["get:drinks", "post:drinks"]}},
                 ["permissions: https://coffee.example/api: get:drinks, post:drinks"], id="grants"),
    pytest.param({"reason": None, "kids": []}, ["reason: —", "kids: —"], id="nothing"),
    pytest.param({}, [], id="no details"),
])
def test_details_as_text(detail, lines):
    assert detail_lines(detail) == lines
