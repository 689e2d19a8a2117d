"""One place resolves llmstats' configuration: environment over TOML file over defaults.

The plugin and the CLI both call `load_settings()`; nothing else reads `LLMSTATS_*`
variables, so `llmstats status` can show exactly what the writer would use.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, get_args

from .data_dir_files import is_remote, local_path
from .errors import ConfigError

PrivacyLevel = Literal["minimal", "standard", "full"]
PRIVACY_LEVELS: tuple[str, ...] = get_args(PrivacyLevel)
ConverterMode = Literal["process", "inline"]
CONVERTER_MODES: tuple[str, ...] = get_args(ConverterMode)

ENV_PREFIX = "LLMSTATS_"


@dataclass(frozen=True)
class Settings:
    data_dir: str
    """A local path or an object-store URI (s3://bucket/prefix)."""
    spool_dir: Path
    """Always local: the write-ahead spool must survive a kill -9 without the network."""
    privacy: PrivacyLevel = "standard"
    flush_seconds: float = 60.0
    flush_rows: int = 50_000
    hash_key: str | None = None
    enabled: bool = True
    max_pending_rows: int = 100_000
    """Rows held in memory while the spool cannot be written; beyond it rows are dropped."""
    retention_days: int | None = None
    segments: bool = True
    """Count where input tokens go (off: no tokenizer runs, `segments` stays null)."""
    converter: ConverterMode = "process"
    """Where spool segments become Parquet: a short-lived child process per round (the
    proxy process then never loads pyarrow), or `inline` on the writer thread."""
    config_file: Path | None = None

    @property
    def is_remote(self) -> bool:
        return is_remote(self.data_dir)

    @property
    def local_data_dir(self) -> Path | None:
        if self.is_remote:
            return None
        return local_path(self.data_dir)


def user_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """XDG data home (the habit of simonw/llm): ~/.local/share/llmstats unless overridden."""
    base = (env or os.environ).get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "llmstats"


def user_state_dir(env: Mapping[str, str] | None = None) -> Path:
    base = (env or os.environ).get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "llmstats"


def user_config_file(env: Mapping[str, str] | None = None) -> Path:
    base = (env or os.environ).get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "llmstats" / "config.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc


def _parse_bool(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _parse_number(name: str, raw: object, kind: type[int] | type[float], minimum: float) -> Any:
    try:
        value = kind(str(raw))
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {raw!r}")
    return value


_URI = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<rest>.*)$")


def _check_uri(data_dir: str) -> str:
    """An object-store data dir is `scheme://bucket/prefix` and nothing more.

    Credentials never belong in it (the URI is shown by `llmstats status`, written into
    logs and error messages, and hashed into the spool and cache paths): they come from
    the provider's own environment and config chain (AWS_ACCESS_KEY_ID / AWS_PROFILE /
    instance or pod roles, AWS_ENDPOINT_URL for S3-compatible servers). Query options
    are refused too: every path inside the data dir is built by appending to it."""
    match = _URI.match(data_dir)
    if not match or match["scheme"] == "file":
        return data_dir
    rest = match["rest"]
    authority = rest.split("/", 1)[0]
    if "@" in authority:
        raise ConfigError(
            "LLMSTATS_DATA_DIR must not carry credentials (user:secret@): use the "
            "provider's environment or config (for S3: AWS_ACCESS_KEY_ID, AWS_PROFILE, "
            "an instance or pod role)"
        )
    if "?" in rest or "#" in rest:
        raise ConfigError(
            "LLMSTATS_DATA_DIR takes no query options: set the endpoint and region in the "
            "provider's environment (for S3: AWS_ENDPOINT_URL, AWS_REGION)"
        )
    if not authority:
        raise ConfigError(f"LLMSTATS_DATA_DIR {data_dir!r} names no bucket")
    return data_dir.rstrip("/")


def _default_spool_dir(data_dir: str, env: Mapping[str, str]) -> Path:
    if "://" in data_dir and not data_dir.startswith("file://"):
        digest = hashlib.sha256(data_dir.encode()).hexdigest()[:12]
        return user_state_dir(env) / "spool" / digest
    return Path(data_dir.removeprefix("file://")) / "spool"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Resolve settings: keyword overrides, then LLMSTATS_* env, then the TOML file, then defaults."""
    env = os.environ if environ is None else environ
    config_file = Path(env.get("LLMSTATS_CONFIG") or user_config_file(env))
    from_file = _read_toml(config_file)

    def pick(key: str) -> object | None:
        if key in overrides and overrides[key] is not None:
            return overrides[key]
        env_value = env.get(ENV_PREFIX + key.upper())
        if env_value not in (None, ""):
            return env_value
        return from_file.get(key)

    data_dir = _check_uri(str(pick("data_dir") or user_data_dir(env)))
    if "://" not in data_dir:
        data_dir = str(Path(data_dir).expanduser())
    spool_raw = pick("spool_dir")
    spool_dir = (
        Path(str(spool_raw)).expanduser() if spool_raw else _default_spool_dir(data_dir, env)
    )

    privacy = str(pick("privacy") or "standard").strip().lower()
    if privacy not in PRIVACY_LEVELS:
        raise ConfigError(
            f"LLMSTATS_PRIVACY must be one of {', '.join(PRIVACY_LEVELS)}, not {privacy!r}"
        )
    converter = str(pick("converter") or "process").strip().lower()
    if converter not in CONVERTER_MODES:
        raise ConfigError(
            f"LLMSTATS_CONVERTER must be one of {', '.join(CONVERTER_MODES)}, not {converter!r}"
        )
    settings = Settings(data_dir=data_dir, spool_dir=spool_dir, config_file=config_file)
    changes: dict[str, Any] = {"privacy": privacy, "converter": converter}
    numbers: dict[str, tuple[type[int] | type[float], float]] = {
        "flush_seconds": (float, 0.05),
        "flush_rows": (int, 1),
        "max_pending_rows": (int, 0),
        "retention_days": (int, 1),
    }
    for key, (kind, minimum) in numbers.items():
        raw = pick(key)
        if raw is not None:
            changes[key] = _parse_number(ENV_PREFIX + key.upper(), raw, kind, minimum)
    for flag in ("enabled", "segments"):
        raw_flag = pick(flag)
        if raw_flag is not None:
            changes[flag] = _parse_bool(ENV_PREFIX + flag.upper(), raw_flag)
    hash_key = pick("hash_key")
    if hash_key:
        changes["hash_key"] = str(hash_key)
    return replace(settings, **changes)
