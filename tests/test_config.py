"""Configuration: production refuses unsafe settings; development works out of the box."""

import pytest

from config import ConfigError
from conversion import create_app


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(
            {
                "APP_CONFIG": "production",
                "SECRET_KEY": None,
                "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x@127.0.0.1/x",
            }
        )


def test_production_refuses_sqlite_unless_allowed():
    with pytest.raises(ConfigError, match="SQLite"):
        create_app(
            {"APP_CONFIG": "production", "SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite:///x.sqlite3"}
        )
    app = create_app(
        {
            "APP_CONFIG": "production",
            "SECRET_KEY": "s" * 32,
            "ALLOW_SQLITE": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///x.sqlite3",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_config_name_is_a_clear_error():
    with pytest.raises(ConfigError, match="Unknown APP_CONFIG"):
        create_app("staging")


def test_development_defaults_to_sqlite_under_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    import importlib

    import config

    importlib.reload(config)
    try:
        assert config.DevelopmentConfig.SQLALCHEMY_DATABASE_URI.endswith("instance/conversion.sqlite3")
    finally:
        importlib.reload(config)
