"""The `authgate` command as users run it: a real process, real databases, exit codes and output."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import TEST_MASTER_KEY, cli_in_process, forget_cli_services

SAMPLE = Path(__file__).parent.parent / "fixtures" / "spec_sample.yaml"


@pytest.fixture
def authgate(database_url, tmp_path):
    """Run the CLI in-process (Typer's runner: the same commands, exit codes and output streams
    as the console script, without ~2 s of interpreter start-up per call)."""
    return cli_in_process({
        "AUTHGATE_DATABASE_URL": database_url,
        "AUTHGATE_DATA_DIR": str(tmp_path / "data"),
        "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY,
        "COLUMNS": "200",
    })


def test_the_console_script_runs_as_a_real_process(database_url, tmp_path):
    env = {**os.environ, "AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_DATA_DIR": str(tmp_path / "data"),
           "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY}
    result = subprocess.run([sys.executable, "-m", "authgate", "init", "--json"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0 and json.loads(result.stdout)["admin_created"] is True


def test_init_is_idempotent_and_prints_the_admin_password_once(authgate):
    first = json.loads(authgate("init", "--json").stdout)
    assert first["admin_created"] and len(first["admin_password"]) >= 16
    second = json.loads(authgate("init", "--json").stdout)
    assert not second["admin_created"] and second["admin_password"] is None
    assert second["schema"] == first["schema"]
    user = json.loads(authgate("user", "show", "admin", "--json").stdout)
    assert user["roles"] == ["admin"]


def test_init_reads_the_admin_password_from_stdin(authgate):
    result = json.loads(authgate("init", "--admin-username", "root", "--password-stdin", "--json",
                                 stdin="stdin supplied admin passphrase\n").stdout)
    assert result["admin"] == "root" and result["admin_password"] is None


def test_apply_twice_says_nothing_changed(authgate):
    first = json.loads(authgate("apply", str(SAMPLE), "--json").stdout)
    assert first["changed"] and first["created"]["users"] == 2
    again = authgate("apply", str(SAMPLE))
    assert "no changes" in again.stdout


def test_a_malformed_file_exits_non_zero_with_one_line(authgate, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  - username: abe\n    roles: [nope]\n")
    result = authgate("apply", str(bad), check=False)
    assert result.returncode == 1
    assert "users[0] (line 2)" in result.stderr and "nope" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_user_lifecycle_with_json(authgate):
    authgate("apply", str(SAMPLE))
    authgate("user", "add", "zoe", "--email", "zoe@example.org", "--role", "barista", "--password-stdin",
             stdin="zoe's fine long passphrase\n")
    listed = json.loads(authgate("user", "list", "--search", "zo", "--json").stdout)
    assert [u["username"] for u in listed] == ["zoe"]
    changed = json.loads(authgate("user", "change", "zoe", "--disabled", "--json").stdout)
    assert changed["disabled"] is True
    roles = json.loads(authgate("user", "roles", "zoe", "--add", "manager", "--remove", "barista", "--json").stdout)
    assert roles["roles"] == ["manager"]
    authgate("user", "remove", "zoe", "--yes")
    missing = authgate("user", "show", "zoe", check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_weak_password_is_refused_without_echoing_it(authgate):
    authgate("init")
    result = authgate("user", "add", "weak", "--password-stdin", stdin="password1\n", check=False)
    assert result.returncode == 1 and "weak_password" in result.stderr
    assert "password1" not in result.stderr + result.stdout


def test_commands_before_init_say_to_run_init(tmp_path):
    env = {**os.environ, "AUTHGATE_DATA_DIR": str(tmp_path / "fresh"), "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY}
    result = subprocess.run([sys.executable, "-m", "authgate", "user", "list"], capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "authgate init" in result.stderr and "Traceback" not in result.stderr


def test_roles_apis_and_clients(authgate):
    authgate("init")
    authgate("api", "add", "https://tea.example", "-p", "read:tea", "-p", "brew:tea")
    role = json.loads(authgate("role", "add", "brewer", "-p", "https://tea.example=brew:tea", "--json").stdout)
    assert role["permissions"] == {"https://tea.example": ["brew:tea"]}
    client = json.loads(authgate("client", "add", "kettle", "--grant-type", "client_credentials",
                                 "-p", "https://tea.example=read:tea", "--json").stdout)
    assert len(client["client_secret"]) >= 32
    rotated = json.loads(authgate("client", "rotate-secret", "kettle", "--yes", "--json").stdout)
    assert rotated["client_secret"] != client["client_secret"]
    shown = json.loads(authgate("client", "show", "kettle", "--json").stdout)
    assert "client_secret" not in shown
    bad = authgate("role", "add", "x", "-p", "https://tea.example=fly:tea", check=False)
    assert bad.returncode == 1 and "fly:tea" in bad.stderr


def test_tables_on_a_terminal(authgate):
    authgate("apply", str(SAMPLE))
    out = authgate("user", "list").stdout
    assert "username" in out and "abe" in out and "mia" in out


def test_keys_rotate_and_list(authgate):
    authgate("init")
    before = json.loads(authgate("keys", "list", "--json").stdout)
    assert {k["state"] for k in before} == {"signing"}
    new = json.loads(authgate("keys", "rotate", "--yes", "--json").stdout)["new_kids"]
    after = json.loads(authgate("keys", "list", "--json").stdout)
    states = {k["kid"]: k["state"] for k in after}
    assert all(states[kid] == "signing" for kid in new)
    assert all(states[k["kid"]] == "published" for k in before)


def test_audit_shows_admin_changes(authgate):
    authgate("apply", str(SAMPLE))
    events = json.loads(authgate("audit", "--user", "abe", "--json").stdout)
    assert events and events[0]["actor"] == "authgate apply"
    bad = authgate("audit", "--since", "yesterday-ish", check=False)
    assert bad.returncode == 1 and "--since" in bad.stderr


@pytest.mark.parametrize("command", [["user", "list"], ["init"], ["demo", "--port", "1"]])
def test_database_down_is_one_line_and_exit_3(command, tmp_path):
    """Also where the schema is migrated (init, demo): Alembic's errors are an outage like any other."""
    env_url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    result = subprocess.run([sys.executable, "-m", "authgate", *command], capture_output=True, text=True,
                            env={**os.environ, "AUTHGATE_DATABASE_URL": env_url, "AUTHGATE_DATA_DIR": str(tmp_path),
                                 "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY}, timeout=60)
    assert result.returncode == 3 and "database is unavailable" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_bad_setting_is_named(tmp_path):
    result = subprocess.run([sys.executable, "-m", "authgate", "user", "list"], capture_output=True, text=True,
                            env={**os.environ, "AUTHGATE_ISSUER": "ftp://nope", "AUTHGATE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1 and "AUTHGATE_ISSUER" in result.stderr and "Traceback" not in result.stderr


def test_demo_prints_working_logins_and_fresh_secrets(authgate, settings):
    import re

    from authgate.services import Services

    first = authgate("demo", "--no-serve").stdout
    assert "/.well-known/openid-configuration" in first
    logins = dict(re.findall(r"│ (barista|manager|admin)\s+│ (\S+)\s+│", first))
    assert set(logins) == {"admin", "barista", "manager"}
    secret = re.search(r"│ nightly-report\s+│ (\S+)\s+│", first).group(1)
    services = Services(settings)
    with services.realm() as realm:
        assert realm.users.check_password("barista", logins["barista"]) is not None
        assert [r.name for r in realm.users.get("manager").roles] == ["manager"]
    again = authgate("demo", "--no-serve").stdout
    assert re.search(r"│ nightly-report\s+│ (\S+)\s+│", again).group(1) != secret
    services.database.dispose()


def test_demo_on_another_port_names_that_issuer_unless_one_is_configured(authgate, monkeypatch):
    import os

    out = authgate("demo", "--no-serve", "--port", "8765").stdout
    assert "http://127.0.0.1:8765/.well-known/openid-configuration" in out and ":8000" not in out
    assert "AUTHGATE_ISSUER" not in os.environ, "the issuer is passed on explicitly, never through os.environ"
    monkeypatch.setenv("AUTHGATE_ISSUER", "https://id.example")
    out = authgate("demo", "--no-serve", "--port", "8765").stdout
    assert "https://id.example/.well-known/openid-configuration" in out


# --- one verb scheme, confirmation, paging, readable help (issue 13) ---------------------------------------


def test_version_is_printed():
    from importlib.metadata import version

    from typer.testing import CliRunner

    from authgate.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"authgate {version('authgate')}"


def _commands(group, prefix=()):
    """Every command of the CLI as its argv prefix."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_help_shows_readable_metavars_everywhere():
    import typer
    from typer.testing import CliRunner

    from authgate.cli import app

    runner = CliRunner()
    commands = list(_commands(typer.main.get_command(app)))
    assert ("user", "change") in commands and ("client", "rotate-secret") in commands
    for argv in commands:
        out = runner.invoke(app, [*argv, "--help"], env={"COLUMNS": "200"}).stdout
        assert "list[" not in out and "<bool>  Print JSON" not in out, (argv, out)
    assert "ROLE" in runner.invoke(app, ["user", "change", "--help"], env={"COLUMNS": "200"}).stdout


def test_one_verb_scheme_with_the_old_spellings_still_accepted(authgate):
    authgate("apply", str(SAMPLE))
    user = json.loads(authgate("user", "change", "abe", "--add-role", "manager", "--remove-role", "barista",
                               "--disable", "--json").stdout)
    assert user["roles"] == ["manager"] and user["disabled"] is True
    assert json.loads(authgate("user", "change", "abe", "--enabled", "--json").stdout)["disabled"] is False
    api = "https://coffee.example/api"
    role = json.loads(authgate("role", "change", "barista", "--add-permission", f"{api}=post:drinks",
                               "--remove-permission", f"{api}=get:drinks", "--json").stdout)
    assert role["permissions"] == {api: ["get:drinks-detail", "post:drinks"]}
    old = json.loads(authgate("role", "change", "barista", "--grant", f"{api}=get:drinks", "--revoke",
                              f"{api}=post:drinks", "--json").stdout)
    assert old["permissions"] == {api: ["get:drinks", "get:drinks-detail"]}
    client = json.loads(authgate("client", "change", "nightly-report", "--add-permission", f"{api}=post:drinks",
                                 "--remove-permission", f"{api}=get:drinks", "--disable", "--json").stdout)
    assert client["permissions"] == {api: ["post:drinks"]} and client["disabled"] is True
    spa = json.loads(authgate("client", "change", "coffee-spa", "--add-redirect-uri", "http://127.0.0.1:5000/cb2",
                              "--remove-redirect-uri", "http://127.0.0.1:5000/callback", "--json").stdout)
    assert spa["redirect_uris"] == ["http://127.0.0.1:5000/cb2"]
    bad = authgate("role", "change", "barista", "--add-permission", "no-equals-sign", check=False)
    assert bad.returncode == 1 and "--add-permission" in bad.stderr


DESTRUCTIVE = [("user", "remove", "abe"), ("role", "remove", "manager"), ("api", "remove", "https://unused.example"),
               ("client", "remove", "coffee-spa"), ("client", "rotate-secret", "nightly-report"), ("keys", "rotate")]


def test_destructive_commands_need_yes_without_a_terminal(authgate):
    authgate("apply", str(SAMPLE))
    authgate("api", "add", "https://unused.example")
    listings = [("user", "list"), ("role", "list"), ("api", "list"), ("client", "list"), ("keys", "list")]
    before = {what: authgate(*what, "--json").stdout for what in listings}
    for argv in DESTRUCTIVE:
        refused = authgate(*argv, check=False)
        assert refused.returncode == 1 and "--yes" in refused.stderr and "no terminal" in refused.stderr, argv
        assert len(refused.stderr.strip().splitlines()) == 1
    assert {what: authgate(*what, "--json").stdout for what in listings} == before, "nothing changed"
    for argv in DESTRUCTIVE:
        authgate(*argv, "--yes")
    assert json.loads(authgate("api", "list", "--json").stdout)[0]["identifier"] != "https://unused.example"


def test_api_remove_refuses_while_roles_or_clients_hold_its_permissions(authgate):
    authgate("apply", str(SAMPLE))
    api = "https://coffee.example/api"
    refused = authgate("api", "remove", api, "--yes", check=False)
    assert refused.returncode == 1
    for holder in ("role barista", "role manager", "client nightly-report", "--force"):
        assert holder in refused.stderr
    assert json.loads(authgate("role", "show", "barista", "--json").stdout)["permissions"] == {
        api: ["get:drinks", "get:drinks-detail"]}
    forced = authgate("api", "remove", api, "--force", "--yes")
    assert "stripped from role barista (get:drinks, get:drinks-detail)" in forced.stdout
    assert json.loads(authgate("role", "show", "barista", "--json").stdout)["permissions"] == {}
    assert json.loads(authgate("client", "show", "nightly-report", "--json").stdout)["permissions"] == {}


def _many_users(tmp_path, count):
    realm = tmp_path / "many.yaml"
    realm.write_text("users:\n" + "".join(f"  - username: user{n:03d}\n" for n in range(count)))
    return realm


def test_lists_page_with_a_hint_and_json_never_truncates_silently(authgate, tmp_path):
    authgate("apply", str(_many_users(tmp_path, 57)))
    table = authgate("user", "list").stdout
    assert "user049" in table and "user050" not in table
    assert "showing the first 50 users; more exist" in table and "--after user049" in table
    assert "user056" in authgate("user", "list", "--all").stdout
    assert "more exist" not in authgate("user", "list", "--all").stdout
    everyone = json.loads(authgate("user", "list", "--json").stdout)
    assert len(everyone) == 57
    limited = json.loads(authgate("user", "list", "--limit", "10", "--json").stdout)
    assert len(limited["items"]) == 10 and limited["more"] is True and limited["limit"] == 10
    last = json.loads(authgate("user", "list", "--after", "user050", "--limit", "10", "--json").stdout)
    assert last["items"][0]["username"] == "user051" and last["more"] is False
    both = authgate("user", "list", "--limit", "5", "--all", check=False)
    assert both.returncode == 1 and "--limit" in both.stderr and "--all" in both.stderr
    events = json.loads(authgate("audit", "--json").stdout)
    assert len(events) == 57, "the whole audit log, not the first 100 or 50"


def test_a_command_without_a_database_names_it_and_creates_nothing(tmp_path):
    from typer.testing import CliRunner

    from authgate.cli import app

    data = tmp_path / "elsewhere"
    forget_cli_services()
    result = CliRunner().invoke(app, ["user", "list"], env={
        "AUTHGATE_DATA_DIR": str(data), "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY, "AUTHGATE_DATABASE_URL": None})
    forget_cli_services()
    assert result.exit_code == 1
    assert str((data / "authgate.db").resolve()) in result.stderr and "authgate init" in result.stderr
    assert not data.exists(), "no empty database file (or its directory) left behind"


def test_a_database_without_the_schema_is_named(tmp_path):
    import sqlite3

    from typer.testing import CliRunner

    from authgate.cli import app

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    forget_cli_services()
    result = CliRunner().invoke(app, ["role", "list"], env={
        "AUTHGATE_DATABASE_URL": f"sqlite:///{empty}", "AUTHGATE_DATA_DIR": str(tmp_path / "data"),
        "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY})
    forget_cli_services()
    assert result.exit_code == 1 and f"the database {empty} has no authgate schema" in result.stderr


def test_audit_user_is_the_user_only_and_roles_have_their_own_filter(authgate):
    authgate("apply", str(SAMPLE))  # creates the role barista
    authgate("user", "add", "barista")  # and a user of the same name
    authgate("role", "change", "barista", "--description", "Makes coffee")
    about_user = json.loads(authgate("audit", "--user", "barista", "--json").stdout)
    assert [e["detail"]["change"] for e in about_user] == ["user.created"]
    about_role = json.loads(authgate("audit", "--role", "barista", "--json").stdout)
    assert [e["detail"]["change"] for e in about_role] == ["role.updated", "role.created"]


def test_audit_details_read_as_key_value_text(authgate):
    authgate("apply", str(SAMPLE))
    out = authgate("audit", "--user", "mia").stdout  # a narrow terminal may wrap a cell, not a word
    assert "change:" in out and "imported:" in out and "yes" in out
    assert "imported=" not in out and "True" not in out
    raw = json.loads(authgate("audit", "--user", "mia", "--json").stdout)
    assert raw[0]["detail"] == {"change": "user.created", "imported": True}, "JSON keeps the data as it is"


def test_apply_lists_every_problem_with_a_suggestion(authgate, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  - username: abe\n    pasword: x\n  - username: bob\n    emial: bob@example.org\n")
    result = authgate("apply", str(bad), check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert "users[0] (line 2): unknown key 'pasword' (did you mean 'password'?)" in lines[0]
    assert "users[1] (line 4): unknown key 'emial' (did you mean 'email'?)" in lines[1]
    assert "2 problems; nothing was applied" in lines[2] and len(lines) == 3


@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_a_terminal_a_destructive_command_asks_and_no_keeps_everything(authgate, database_url, tmp_path, backend):
    import pty

    authgate("apply", str(SAMPLE))
    env = {**os.environ, "AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_DATA_DIR": str(tmp_path / "data"),
           "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY}

    def answer(reply: str) -> subprocess.CompletedProcess[str]:
        controller, terminal = pty.openpty()  # stdin is a terminal: the command may ask
        try:
            os.write(controller, reply.encode() + b"\n")
            return subprocess.run([sys.executable, "-m", "authgate", "user", "remove", "abe"], stdin=terminal,
                                  capture_output=True, text=True, env=env, timeout=120, check=False)
        finally:
            os.close(controller)
            os.close(terminal)

    declined = answer("n")
    assert "Delete user abe?" in declined.stdout and declined.returncode == 1
    assert authgate("user", "show", "abe", check=False).returncode == 0, "still there"
    accepted = answer("y")
    assert accepted.returncode == 0 and "user abe removed" in accepted.stdout
    assert authgate("user", "show", "abe", check=False).returncode == 1


def test_an_empty_postgresql_database_is_named_without_its_password(tmp_path):
    import uuid

    from sqlalchemy import create_engine, text
    from typer.testing import CliRunner

    from authgate.cli import app

    admin_url = os.environ.get("AUTHGATE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"authgate_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin_url.rsplit("/", 1)[0].replace("postgres@", "postgres:not-shown-pw@") + f"/{name}"
        forget_cli_services()
        result = CliRunner().invoke(app, ["user", "list"], env={
            "AUTHGATE_DATABASE_URL": url, "AUTHGATE_DATA_DIR": str(tmp_path), "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY})
        forget_cli_services()
        assert result.exit_code == 1 and f"127.0.0.1:5432/{name} has no authgate schema" in result.stderr
        assert "not-shown-pw" not in result.stderr
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
