"""Configuration from environment variables (documented in the README, with defaults)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from storage.db import default_url


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: str
    max_request_bytes: int
    auto_migrate: bool
    load_catalogue: bool
    log_level: str

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        data_dir = os.environ.get("TOKHAI_DATA_DIR", os.path.abspath("var"))
        values: dict[str, object] = {
            "database_url": os.environ.get("DATABASE_URL") or default_url(data_dir),
            "data_dir": data_dir,
            "max_request_bytes": int(os.environ.get("TOKHAI_MAX_REQUEST_BYTES", 1024 * 1024)),
            "auto_migrate": _flag("TOKHAI_AUTO_MIGRATE", True),
            "load_catalogue": _flag("TOKHAI_LOAD_CATALOGUE", True),
            "log_level": os.environ.get("TOKHAI_LOG_LEVEL", "INFO").upper(),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
