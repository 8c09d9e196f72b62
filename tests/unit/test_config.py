"""Settings from IDP_* variables: every bad value stops start-up with a message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.config import PROJECT_ROOT, ConfigError, Settings, describe, parse_duration


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("IDP_ISSUER", "ftp://x"),
        ("IDP_ISSUER", "http://id.thainguyen.gov.vn"),
        ("IDP_ISSUER", "https://id.thainguyen.gov.vn/?tenant=1"),
        ("IDP_ISSUER", "https://id.thainguyen.gov.vn/#top"),
        ("IDP_ISSUER", "id.thainguyen.gov.vn"),
        ("IDP_ISSUER", "https://"),
        ("IDP_ACCESS_TOKEN_TTL", "abc"),
        ("IDP_ACCESS_TOKEN_TTL", "0"),
        ("IDP_ACCESS_TOKEN_TTL", "-5"),
        ("IDP_ACCESS_TOKEN_TTL", "10w"),
        ("IDP_REFRESH_TOKEN_TTL", "1.5d"),
        ("IDP_CODE_TTL", "0s"),
        ("IDP_ARGON2_MEMORY_COST", "10"),
        ("IDP_ARGON2_MEMORY_COST", "lots"),
        ("IDP_ARGON2_TIME_COST", "0"),
        ("IDP_ARGON2_PARALLELISM", "17"),
        ("IDP_ID_TOKEN_ALG", "HS256"),
        ("IDP_ID_TOKEN_ALG", "none"),
        ("IDP_DATABASE_URL", "mysql://idp:secret@db.example/idp"),
        ("IDP_DEFAULT_LOCALE", "fr"),
        ("IDP_LOG_LEVEL", "LOUD"),
        ("IDP_TRUST_PROXY", "maybe"),
    ],
)
def test_bad_value_raises_config_error_naming_the_variable(variable, value):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({variable: value})

    assert variable in str(raised.value)


def test_defaults():
    settings = Settings.from_env({})

    assert settings.issuer == "http://127.0.0.1:5000"
    assert settings.access_token_ttl == 600
    assert settings.id_token_ttl == 600
    assert settings.refresh_token_ttl == 30 * 86400
    assert settings.code_ttl == 60
    assert settings.session_ttl == 12 * 3600
    assert settings.id_token_alg == "RS256"
    assert (settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism) == (
        3, 65536, 4)
    assert settings.default_locale == "vi" and settings.log_level == "INFO"
    assert settings.trust_proxy is False
    assert settings.instance_dir == PROJECT_ROOT / "instance"
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'instance' / 'idp.sqlite3'}"
    assert settings.https is False


def test_empty_variable_means_the_default():
    assert Settings.from_env({"IDP_ACCESS_TOKEN_TTL": ""}).access_token_ttl == 600


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("600", 600), ("45s", 45), ("10m", 600), ("12h", 43200), ("30d", 2592000), (" 5m ", 300)],
)
def test_durations(raw, seconds):
    assert parse_duration("IDP_ACCESS_TOKEN_TTL", raw) == seconds
    assert Settings.from_env({"IDP_ACCESS_TOKEN_TTL": raw}).access_token_ttl == seconds


@pytest.mark.parametrize(
    ("raw", "issuer"),
    [
        ("https://id.thainguyen.gov.vn/", "https://id.thainguyen.gov.vn"),
        ("https://id.thainguyen.gov.vn", "https://id.thainguyen.gov.vn"),
        ("https://thainguyen.gov.vn/id/", "https://thainguyen.gov.vn/id"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("http://[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_issuer_is_spelled_one_way_without_trailing_slash(raw, issuer):
    assert Settings.from_env({"IDP_ISSUER": raw}).issuer == issuer


def test_issuer_path_and_https():
    settings = Settings.from_env({"IDP_ISSUER": "https://thainguyen.gov.vn/id/"})

    assert settings.https is True
    assert settings.issuer_path == "/id"
    assert settings.url("/token") == "https://thainguyen.gov.vn/id/token"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgresql_urls_use_the_psycopg_driver(scheme):
    settings = Settings.from_env({"IDP_DATABASE_URL": f"{scheme}://idp:pw@db.example:5432/idp"})

    assert settings.database_url == "postgresql+psycopg://idp:pw@db.example:5432/idp"


def test_explicit_driver_urls_are_kept():
    for url in ("postgresql+psycopg://idp@db/idp", "sqlite:////var/lib/idp/idp.sqlite3"):
        assert Settings.from_env({"IDP_DATABASE_URL": url}).database_url == url


def test_instance_dir_decides_the_default_database(tmp_path):
    settings = Settings.from_env({"IDP_INSTANCE_DIR": str(tmp_path)})

    assert settings.instance_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'idp.sqlite3'}"


def test_overrides_win_over_the_environment(tmp_path):
    settings = Settings.from_env(
        {"IDP_ACCESS_TOKEN_TTL": "abc", "IDP_ISSUER": "ftp://x"},
        access_token_ttl=42, issuer="https://id.example.vn", keys_dir=tmp_path,
    )

    assert settings.access_token_ttl == 42
    assert settings.issuer == "https://id.example.vn"
    assert settings.keys_dir == Path(tmp_path)


def test_environment_is_read_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("IDP_ACCESS_TOKEN_TTL", "2m")
    monkeypatch.setenv("IDP_ID_TOKEN_ALG", "ES256")

    settings = Settings.from_env()

    assert settings.access_token_ttl == 120 and settings.id_token_alg == "ES256"


def test_every_setting_is_documented():
    rows = describe()

    assert all(name.startswith("IDP_") and doc for name, _default, doc in rows)
    assert len({name for name, _, _ in rows}) == len(rows)
