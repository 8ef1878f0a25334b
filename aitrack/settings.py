"""Settings from the environment (prefix AITRACK_) and an optional .env file → one validated Settings object.

Per-source settings are not typed out here: every live source of `fetchers.registry` gets `AITRACK_<ID>_BASE_URL`,
and every credential a source declares gets `AITRACK_<ID>_<CREDENTIAL>` (a secret, never echoed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aitrack.errors import SettingsError
from aitrack.executors import LOCAL, check_executor
from fetchers.registry import LIVE_SOURCE_IDS, SOURCES


class _CoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AITRACK_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset → SQLite file <data_dir>/aitrack.db"
    )
    data_dir: Path = Path("data")
    offline: bool = False
    contact_email: str = "aitrack@users.noreply.github.com"

    http_timeout_s: float = 30.0
    http_max_retries: int = 4
    http_backoff_base_s: float = Field(default=1.0, ge=0)
    # Total time one HTTP request may take (all attempts, backoff and the whole body): a slow-drip server stops here.
    http_request_deadline_s: float = Field(default=600.0, gt=0)
    # Largest response body accepted from a source (decoded); a source's HttpPolicy.max_body_bytes overrides it.
    http_max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    # Total time the fetching part of one refresh may take; sources still running then fail, the rest are kept.
    refresh_deadline_s: float = Field(default=3600.0, gt=0)
    refresh_workers: int = 3
    # Database job lock: a holder on another host that has not beaten for this long is considered gone (SQLite; on
    # PostgreSQL the server releases the lock of a dead session itself). Heartbeats also keep running fetch runs fresh.
    lock_lease_s: float = Field(default=300.0, gt=0)
    heartbeat_s: float = Field(default=30.0, gt=0)
    log_format: str = Field(default="text", pattern="^(text|json)$")
    log_level: str = Field(default="WARNING", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    public_base_url: str | None = Field(
        default=None, description="the served API's public URL (https://host/prefix): absolute Link headers"
    )
    api_cache_bytes: int = Field(default=256 * 2**20, ge=0, description="memory bound of the API's response cache")
    # Where an internal error's traceback goes (one file, appended); unset → <data_dir>/logs.
    log_dir: Path | None = None
    # Where the forecast batch's statsforecast fits run: local (this process) or dask://host:port (aitrack/executors.py).
    executor: str = LOCAL

    @field_validator("database_url")
    @classmethod
    def _url_has_scheme(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError(f"not a database URL (expected e.g. sqlite:///path or postgresql+psycopg://…): {value!r}")
        return value

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        return check_executor(value)

    @field_validator("public_base_url")
    @classmethod
    def _absolute_base(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("https://", "http://")) or any(c in value for c in "?#<> "):
            raise ValueError(f"not an absolute http(s) URL without query or fragment: {value!r}")
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'aitrack.db').as_posix()}"

    @property
    def resolved_log_dir(self) -> Path:
        return self.log_dir if self.log_dir is not None else self.data_dir / "logs"

    def secret_values(self) -> list[str]:
        """Every configured secret (credentials of every source, the database password): scrubbed from any text the
        application stores, logs or prints."""
        values = [v.get_secret_value() for sid, spec in SOURCES.items() for name in spec.credentials
                  if (v := getattr(self, f"{sid}_{name}")) is not None and v.get_secret_value()]  # fmt: skip
        if self.database_url:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                password = make_url(self.database_url).password
            except (ArgumentError, ValueError):
                password = None
            if password:
                values.append(str(password))
        return values

    def base_url_overrides(self) -> dict[str, str]:
        """Source id → base URL for the live sources whose `AITRACK_<ID>_BASE_URL` is set."""
        return {s: url.rstrip("/") for s in LIVE_SOURCE_IDS if (url := getattr(self, f"{s}_base_url"))}

    def credentials(self, source_id: str) -> dict[str, SecretStr]:
        """The credentials set for one source, by credential name (e.g. {"api_key": SecretStr(...)})."""
        spec = SOURCES[source_id]
        return {name: value for name in spec.credentials if (value := getattr(self, f"{source_id}_{name}"))}

    def api_keys(self) -> dict[str, SecretStr]:
        return {sid: key for sid in SOURCES if (key := self.credentials(sid).get("api_key"))}


def _source_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for sid in LIVE_SOURCE_IDS:
        fields[f"{sid}_base_url"] = (str | None, Field(default=None, description=f"mirror or test server for {sid}"))
    for sid, spec in SOURCES.items():
        for name in spec.credentials:
            fields[f"{sid}_{name}"] = (SecretStr | None, Field(default=None, description=f"{sid} {name} (secret)"))
    return fields


Settings = create_model("Settings", __base__=_CoreSettings, **_source_fields())  # type: ignore[call-overload]


def load_settings(**overrides: object) -> _CoreSettings:
    """Settings, or SettingsError naming the bad variable (never echoing a secret)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "AITRACK_" + str(first["loc"][0]).upper() if first.get("loc") else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
