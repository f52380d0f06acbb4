"""Settings come from AUTHGATE_* variables and an optional file; insecure defaults are named."""

import pytest
from pydantic import ValidationError

from authgate.settings import Settings


def test_environment_prefix_and_defaults(monkeypatch):
    monkeypatch.setenv("AUTHGATE_DATABASE_URL", "postgresql+psycopg://db/x")
    monkeypatch.setenv("AUTHGATE_ACCESS_TOKEN_TTL", "600")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://db/x"
    assert settings.access_token_ttl == 600
    assert settings.issuer == "http://127.0.0.1:8000"


def test_config_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    config = tmp_path / "authgate.yaml"
    config.write_text("issuer: https://id.example\naccess_token_ttl: 900\n")
    monkeypatch.setenv("AUTHGATE_CONFIG", str(config))
    monkeypatch.setenv("AUTHGATE_ACCESS_TOKEN_TTL", "120")
    settings = Settings()
    assert settings.issuer == "https://id.example"
    assert settings.access_token_ttl == 120


@pytest.mark.parametrize(
    ("name", "value"),
    [("AUTHGATE_ISSUER", "ftp://x"), ("AUTHGATE_ISSUER", "https://x/?q=1"), ("AUTHGATE_ARGON2_MEMORY_KIB", "1024"),
     ("AUTHGATE_PASSWORD_MIN_LENGTH", "6"), ("AUTHGATE_SIGNING_ALGORITHM", "HS256")],
)
def test_unsafe_or_invalid_values_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_insecure_defaults_are_named(monkeypatch):
    monkeypatch.setenv("AUTHGATE_ISSUER", "http://id.example.com")
    warnings = " ".join(Settings().insecure_defaults())
    assert "AUTHGATE_MASTER_KEY" in warnings and "plain HTTP" in warnings and "SQLite" in warnings


def test_secure_production_settings_warn_about_nothing(monkeypatch):
    monkeypatch.setenv("AUTHGATE_ISSUER", "https://id.example.com")
    monkeypatch.setenv("AUTHGATE_MASTER_KEY", "x" * 43)
    monkeypatch.setenv("AUTHGATE_DATABASE_URL", "postgresql+psycopg://db/authgate")
    monkeypatch.setenv("AUTHGATE_SMTP_URL", "smtp+starttls://authgate@smtp.example.com:587")
    assert Settings().insecure_defaults() == []


def test_master_key_never_shows_in_repr(monkeypatch):
    monkeypatch.setenv("AUTHGATE_MASTER_KEY", "super-secret-master-key-value")
    assert "super-secret-master-key-value" not in repr(Settings())
