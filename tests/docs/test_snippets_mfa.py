"""The MFA page's samples: the realm file's `require_mfa` through `authgate apply`, and the settings file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docs_testkit import SNIPPETS, authgate, authgate_env
from sqlalchemy import select

from authgate.accounts import mfa
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.models import User
from testkit import TEST_MASTER_KEY


def test_mfa_realm_requires_enrolment_of_the_treasurer(tmp_path: Path) -> None:
    env = authgate_env(tmp_path)
    done = authgate(env, "apply", str(SNIPPETS / "mfa_realm.yaml"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"]
    settings = Settings(data_dir=Path(env["AUTHGATE_DATA_DIR"]), master_key=env["AUTHGATE_MASTER_KEY"])
    services = Services(settings)
    try:
        with services.reader() as realm:
            assert {role.name: role.require_mfa for role in realm.roles.list()}.items() >= {("treasurer", True), ("intern", False)}
            tess = realm.session.scalars(select(User.id).where(User.username == "tess")).one()
            assert mfa.requirement(realm.session, settings, tess) is mfa.Requirement.ENROL
    finally:
        services.database.dispose()


def test_mfa_settings_require_a_second_factor_for_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_CONFIG", str(SNIPPETS / "mfa_settings.yaml"))
    monkeypatch.setenv("AUTHGATE_MASTER_KEY", TEST_MASTER_KEY)
    assert Settings().mfa == "required"
