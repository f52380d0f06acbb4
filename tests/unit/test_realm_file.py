"""The realm file is validated whole, and errors name the entry and its line."""

import pytest

from authgate.provisioning.realm_file import RealmFileError, parse_realm


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("apis: [\n", "line", id="broken YAML names a line"),
        pytest.param("- just\n- a list\n", "top level must be a mapping", id="not a mapping"),
        pytest.param("users:\n  - username: abe\n  - usernme: bob\n", "users[1] (line 3)",
                     id="unknown key names entry and line"),
        pytest.param("users:\n  - username: abe\n    password: x\n    password_hash: y\n", "users[0] (line 2)",
                     id="password and hash"),
        pytest.param("clients:\n  - client_id: a\n    type: weird\n", "clients[0] (line 2) type", id="bad client type"),
        pytest.param("roles:\n  - name: a\n  - name: a\n", "roles[1] (line 3): 'a' is listed twice",
                     id="duplicate role"),
        pytest.param("users:\n  - username: Abe\n  - username: abe\n", "listed twice",
                     id="duplicate user, case-insensitive"),
        pytest.param("apis:\n  - identifier: x\n    identifier: y\n", "duplicate key", id="duplicate key"),
        pytest.param("surprise: 1\n", "surprise", id="unknown section"),
        pytest.param('{"users": [{"username": "a", "roles": "admin"}]}', "users[0]", id="JSON with wrong type"),
    ],
)
def test_bad_files_are_refused_with_a_precise_message(text, expected):
    with pytest.raises(RealmFileError) as raised:
        parse_realm(text, source="realm.yaml")
    assert expected in str(raised.value)


def test_errors_never_echo_a_password():
    text = "users:\n  - username: abe\n    password: hunter2-secret-value\n    bogus: 1\n"
    with pytest.raises(RealmFileError) as raised:
        parse_realm(text)
    assert "hunter2-secret-value" not in str(raised.value)


def test_json_and_yaml_give_the_same_realm():
    yaml_text = "apis:\n  - identifier: https://a\n    permissions: [read]\n"
    json_text = '{"apis": [{"identifier": "https://a", "permissions": ["read"]}]}'
    assert parse_realm(yaml_text).apis == parse_realm(json_text).apis


def test_every_problem_is_reported_at_once_in_our_words():
    text = (
        "users:\n"
        "  - username: abe\n"
        "    pasword: hunter2-secret-value\n"
        "  - username: bob\n"
        "    roles: barista\n"
        "  - username: ABE\n"
        "clients:\n"
        "  - client_id: c\n"
        "    type: weird\n"
        "rolez: []\n"
    )
    with pytest.raises(RealmFileError) as raised:
        parse_realm(text, source="realm.yaml")
    problems = raised.value.problems
    assert "realm.yaml: users[0] (line 2): unknown key 'pasword' (did you mean 'password'?)" in problems
    assert "realm.yaml: users[1] (line 4) roles: must be a list" in problems
    assert "realm.yaml: users[2] (line 6): 'ABE' is listed twice" in problems
    assert "realm.yaml: clients[0] (line 8) type: must be 'public' or 'confidential'" in problems
    assert "realm.yaml: top level: unknown key 'rolez' (did you mean 'roles'?)" in problems
    assert len(problems) == 5
    assert "Extra inputs are not permitted" not in str(raised.value) and "hunter2" not in str(raised.value)


def test_an_unknown_key_with_nothing_close_lists_the_known_ones():
    with pytest.raises(RealmFileError) as raised:
        parse_realm("apis:\n  - identifier: x\n    zzz: 1\n")
    assert "unknown key 'zzz' (expected one of identifier, name, permissions)" in str(raised.value)
