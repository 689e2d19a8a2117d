"""One place resolves llmstats' configuration: environment over TOML file over defaults.

The plugin and the CLI both call `load_settings()`; nothing else reads `LLMSTATS_*`
variables, so `llmstats status` can show exactly what the writer would use. Every value is
checked here, once: a number is finite and in its stated range, a choice is one of its
choices, and anything else is a `ConfigError` whose one-line message names the setting
(as the variable, or as the key in the config file) and what it accepts. The README's
configuration table states the same ranges (tests/test_config.py holds them together).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from functools import partial
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
    """Where spool files become Parquet: a short-lived child process per round (the
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


@dataclass(frozen=True)
class NumberRange:
    """What a numeric setting accepts: finite, of its kind, within [low, high]."""

    kind: type[int] | type[float]
    low: float
    high: float
    unit: str

    def describe(self) -> str:
        what = "a whole number" if self.kind is int else "a number"
        return f"{what} of {self.unit} from {_plain(self.low)} to {_plain(self.high)}"


def _plain(number: float) -> str:
    return f"{int(number):,}" if number == int(number) else str(number)


NUMBER_RANGES: dict[str, NumberRange] = {
    # Below 0.05 s the writer would spin; above a day, events wait in the spool longer than
    # anyone reading a report expects (and `inf` overflowed the writer thread's wait).
    "flush_seconds": NumberRange(float, 0.05, 86_400, "seconds"),
    "flush_rows": NumberRange(int, 1, 10_000_000, "rows"),
    # ~1.5 KB a held row: a million is the most memory a proxy should lend to a bad disk.
    "max_pending_rows": NumberRange(int, 0, 1_000_000, "rows"),
    # A hundred years; more overflows date arithmetic.
    "retention_days": NumberRange(int, 1, 36_500, "days"),
}
CHOICES: dict[str, tuple[str, ...]] = {"privacy": PRIVACY_LEVELS, "converter": CONVERTER_MODES}
FLAGS = ("enabled", "segments")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
MIN_HASH_KEY_LENGTH = 16
OBJECT_STORE_SCHEMES = ("s3", "gs", "gcs", "abfs", "abfss", "hdfs")
"""What pyarrow's `FileSystem.from_uri` opens; only s3:// is tested here (docs/fleet.md)."""
AT_SIGN_SCHEMES = ("abfs", "abfss")
"""Azure names a container as `container@account.dfs.core.windows.net`: an @ without a
password there is an address, not a credential."""

KNOWN_KEYS = frozenset(f.name for f in fields(Settings)) - {"config_file"}


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
            document = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {_one_line(exc)}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {_one_line(exc)}") from None
    unknown = sorted(set(document) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting {unknown[0]!r} "
            f"(known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    return document


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(frozen=True)
class _Value:
    """A raw value and where it came from, so that a complaint names the setting as the
    user wrote it: the variable, or the key in the config file."""

    raw: object
    name: str

    def refuse(self, accepts: str, *, show: bool = True) -> ConfigError:
        shown = f", not {_shown(self.raw)}" if show else ""
        return ConfigError(f"{self.name} must be {accepts}{shown}")


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: _Value, spec: NumberRange) -> int | float:
    raw = value.raw
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise value.refuse(spec.describe())
    try:
        number: int | float = spec.kind(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError, OverflowError):
        raise value.refuse(spec.describe()) from None
    if spec.kind is int and isinstance(raw, float) and number != raw:
        raise value.refuse(spec.describe())  # 7.5 rows: int() would round it quietly
    if not math.isfinite(number) or not spec.low <= number <= spec.high:
        raise value.refuse(spec.describe())
    return number


def _flag(value: _Value) -> bool:
    raw = value.raw
    if isinstance(raw, bool):
        return raw
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise value.refuse("true or false (or 1/0, yes/no, on/off)")


def _text(value: _Value, accepts: str) -> str:
    if not isinstance(value.raw, str) or not value.raw.strip():
        raise value.refuse(accepts)
    return value.raw


def _choice(value: _Value, choices: tuple[str, ...]) -> str:
    accepts = f"one of {', '.join(choices)}"
    text = _text(value, accepts).strip().lower()
    if text not in choices:
        raise value.refuse(accepts)
    return text


_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$")


def _data_dir(value: _Value) -> str:
    """A local path, `file://path`, or `scheme://bucket/prefix` and nothing more.

    Credentials never belong in it (the URI is shown by `llmstats status`, written into
    logs and error messages, and hashed into the spool and cache paths): they come from
    the provider's own environment and config chain (AWS_ACCESS_KEY_ID / AWS_PROFILE /
    instance or pod roles, AWS_ENDPOINT_URL for S3-compatible servers). Query options
    are refused too: every path inside the data dir is built by appending to it. The
    messages never repeat the URI, which may hold a secret."""
    accepts = f"a local path or an object-store URI ({', '.join(OBJECT_STORE_SCHEMES)})"
    data_dir = _text(value, accepts)
    match = _URI.match(data_dir)
    if not match:
        return str(Path(data_dir).expanduser())
    scheme, rest = match["scheme"].lower(), match["rest"]
    if scheme == "file":
        return data_dir
    if scheme not in OBJECT_STORE_SCHEMES:
        raise ConfigError(
            f"{value.name}: the scheme {scheme}:// is not supported; use {accepts}"
        )
    authority = rest.split("/", 1)[0]
    user_info = authority.rpartition("@")[0]
    if user_info and (scheme not in AT_SIGN_SCHEMES or ":" in user_info):
        raise ConfigError(
            f"{value.name} must not carry credentials (user:secret@): use the "
            "provider's environment or config (for S3: AWS_ACCESS_KEY_ID, AWS_PROFILE, "
            "an instance or pod role)"
        )
    if "?" in rest or "#" in rest:
        raise ConfigError(
            f"{value.name} takes no query options: set the endpoint and region in the "
            "provider's environment (for S3: AWS_ENDPOINT_URL, AWS_REGION)"
        )
    if not authority:
        raise ConfigError(f"{value.name} names no bucket: use {scheme}://bucket/prefix")
    return data_dir.rstrip("/")


def check_data_dir(data_dir: str, name: str = "--data-dir") -> str:
    """A data dir given outside the settings (a command's `--data-dir`), held to the same
    rules as LLMSTATS_DATA_DIR: ConfigError naming `name` otherwise."""
    return _data_dir(_Value(data_dir, name))


def _spool_dir(value: _Value) -> Path:
    accepts = "a local path (the spool never leaves the machine)"
    text = _text(value, accepts)
    match = _URI.match(text)
    if match and match["scheme"].lower() != "file":
        raise value.refuse(accepts, show=False)
    return Path(text.removeprefix("file://")).expanduser()


def _hash_key(value: _Value) -> str:
    accepts = (
        f"at least {MIN_HASH_KEY_LENGTH} characters (a random value, e.g. from "
        "`openssl rand -hex 32`): a short key lets anyone reverse end-user hashes"
    )
    key = _text(value, accepts)
    if len(key) < MIN_HASH_KEY_LENGTH:
        raise value.refuse(accepts, show=False)  # never echo a secret, not even a bad one
    return key


def _default_spool_dir(data_dir: str, env: Mapping[str, str]) -> Path:
    if is_remote(data_dir):
        digest = hashlib.sha256(data_dir.encode()).hexdigest()[:12]
        return user_state_dir(env) / "spool" / digest
    return local_path(data_dir) / "spool"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Resolve settings: keyword overrides, then LLMSTATS_* env, then the TOML file, then
    defaults. Raises ConfigError (one line, naming the setting) for any value it cannot use."""
    env = os.environ if environ is None else environ
    config_file = Path(env.get("LLMSTATS_CONFIG") or user_config_file(env))
    from_file = _read_toml(config_file)

    def pick(key: str) -> _Value | None:
        variable = ENV_PREFIX + key.upper()
        if key in overrides and overrides[key] is not None:
            return _Value(overrides[key], variable)
        env_value = env.get(variable)
        if env_value not in (None, ""):
            return _Value(env_value, variable)
        if key in from_file:
            return _Value(from_file[key], f"{key} in {config_file}")
        return None

    def parsed(key: str, parse: Callable[[_Value], Any]) -> Any:
        value = pick(key)
        return None if value is None else parse(value)

    data_dir = parsed("data_dir", _data_dir) or str(user_data_dir(env))
    spool_dir = parsed("spool_dir", _spool_dir) or _default_spool_dir(data_dir, env)
    changes: dict[str, Any] = {}
    for key, choices in CHOICES.items():
        changes[key] = parsed(key, partial(_choice, choices=choices))
    for key, spec in NUMBER_RANGES.items():
        changes[key] = parsed(key, partial(_number, spec=spec))
    for key in FLAGS:
        changes[key] = parsed(key, _flag)
    changes["hash_key"] = parsed("hash_key", _hash_key)
    settings = Settings(data_dir=data_dir, spool_dir=spool_dir, config_file=config_file)
    return replace(settings, **{k: v for k, v in changes.items() if v is not None})
