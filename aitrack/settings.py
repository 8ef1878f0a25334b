"""Settings from the environment (prefix AITRACK_) and an optional .env file → one validated Settings object."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aitrack.errors import SettingsError

LIVE_SOURCES = ("worldbank", "openalex", "oecd", "owid", "epoch")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AITRACK_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset → SQLite file <data_dir>/aitrack.db"
    )
    data_dir: Path = Path("data")
    offline: bool = False
    contact_email: str = "aitrack@users.noreply.github.com"

    worldbank_base_url: str | None = None
    openalex_base_url: str | None = None
    oecd_base_url: str | None = None
    owid_base_url: str | None = None
    epoch_base_url: str | None = None

    openalex_api_key: SecretStr | None = None
    oecd_api_key: SecretStr | None = None

    http_timeout_s: float = 30.0
    http_max_retries: int = 4
    http_backoff_base_s: float = Field(default=1.0, ge=0)
    refresh_workers: int = 3
    log_format: str = Field(default="text", pattern="^(text|json)$")
    log_level: str = Field(default="WARNING", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("database_url")
    @classmethod
    def _url_has_scheme(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError(f"not a database URL (expected e.g. sqlite:///path or postgresql+psycopg://…): {value!r}")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'aitrack.db').as_posix()}"

    def base_url_overrides(self) -> dict[str, str]:
        return {s: url for s in LIVE_SOURCES if (url := getattr(self, f"{s}_base_url"))}

    def api_keys(self) -> dict[str, SecretStr]:
        return {s: key for s in LIVE_SOURCES if (key := getattr(self, f"{s}_api_key", None))}


def load_settings(**overrides: object) -> Settings:
    """Settings, or SettingsError naming the bad variable (never echoing a secret)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "AITRACK_" + str(first["loc"][0]).upper() if first.get("loc") else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
