"""Application configuration, read from the environment.

APP_CONFIG picks the class: development (default), testing or production.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


class ConfigError(RuntimeError):
    """The configuration cannot run safely."""


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'conversion.sqlite3'}")
    # JSON columns (plans, history data) read by orjson: a third of the standard library's time
    # (a pooled connection the database closed is replaced on check-out without a round trip:
    # extensions.check_pooled_connections, rather than pool_pre_ping's SELECT 1 per request)
    SQLALCHEMY_ENGINE_OPTIONS = {"json_deserializer": orjson.loads}
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "EMMA allele conversions <noreply@emma.example>")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    ALLOW_SQLITE = os.environ.get("ALLOW_SQLITE") == "1"
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024  # document uploads: 10 MB (conversion/documents)
    # Uploaded request documents (MTA, PO ...): files under their SHA-256, outside the database.
    DOCUMENTS_DIR = os.environ.get("DOCUMENTS_DIR", str(INSTANCE_DIR / "documents"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    API_TOKEN_TTL_HOURS = int(os.environ.get("API_TOKEN_TTL_HOURS", "720"))
    PAGE_SIZE = 25
    PASSWORD_HASH_METHOD = "scrypt"
    # Reverse proxies in front of the app (X-Forwarded-For/-Proto are trusted from that many).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # flask-smorest / OpenAPI
    API_TITLE = "EMMA allele conversion API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    TESTING = False
    # seed-demo / seed-bench: demo users have published passwords, bench invoices take real numbers.
    SEED_COMMANDS_ALLOWED = True

    @classmethod
    def validate(cls, config: dict) -> None:
        """Hook for subclasses: raise ConfigError when the config is unsafe."""


class DevelopmentConfig(Config):
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret"
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = os.environ.get("SECRET_KEY") or "testing-only-not-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite://")
    DOCUMENTS_DIR = os.environ.get("DOCUMENTS_DIR") or tempfile.mkdtemp(prefix="emma-documents-")
    # Cheap hashes keep per-test seeding fast; production uses scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


class ProductionConfig(Config):
    SEED_COMMANDS_ALLOWED = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    @classmethod
    def validate(cls, config: dict) -> None:
        if not config.get("SECRET_KEY"):
            raise ConfigError("SECRET_KEY must be set in production (APP_CONFIG=production).")
        if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not config.get("ALLOW_SQLITE"):
            raise ConfigError(
                "Production refuses SQLite: set DATABASE_URL=postgresql+psycopg://... "
                "(or ALLOW_SQLITE=1 if you really mean it)."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("APP_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"Unknown APP_CONFIG {name!r}: use one of {', '.join(CONFIGS)}.") from None
