"""Settings resolve once: keyword over env over TOML file over defaults; bad values say which."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmstats.plugin.config import (
    CHOICES,
    ENV_PREFIX,
    KNOWN_KEYS,
    MIN_HASH_KEY_LENGTH,
    NUMBER_RANGES,
    OBJECT_STORE_SCHEMES,
    ConfigError,
    load_settings,
    user_data_dir,
)


def test_defaults_use_the_xdg_data_home(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "LLMSTATS_CONFIG": str(tmp_path / "none.toml")}
    settings = load_settings(env)
    assert settings.data_dir == str(tmp_path / "xdg" / "llmstats")
    assert settings.spool_dir == tmp_path / "xdg" / "llmstats" / "spool"
    assert (settings.privacy, settings.flush_seconds, settings.enabled) == ("standard", 60.0, True)


def test_env_wins_over_the_file_and_the_file_over_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('privacy = "full"\nflush_seconds = 5\nflush_rows = 7\n')
    env = {
        "LLMSTATS_CONFIG": str(config),
        "LLMSTATS_DATA_DIR": str(tmp_path / "d"),
        "LLMSTATS_PRIVACY": "minimal",
    }
    settings = load_settings(env)
    assert (settings.privacy, settings.flush_seconds, settings.flush_rows) == ("minimal", 5.0, 7)
    assert load_settings(env, privacy="standard").privacy == "standard"


BAD_ENV = [
    ("LLMSTATS_PRIVACY", "secret", "LLMSTATS_PRIVACY must be one of minimal, standard, full, not 'secret'"),
    ("LLMSTATS_PRIVACY", " ", "LLMSTATS_PRIVACY must be one of minimal, standard, full, not ' '"),
    ("LLMSTATS_FLUSH_SECONDS", "soon", "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400, not 'soon'"),
    ("LLMSTATS_FLUSH_SECONDS", "nan", "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400, not 'nan'"),
    ("LLMSTATS_FLUSH_SECONDS", "inf", "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400, not 'inf'"),
    ("LLMSTATS_FLUSH_SECONDS", "-inf", "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400, not '-inf'"),
    ("LLMSTATS_FLUSH_SECONDS", "0.01", "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400, not '0.01'"),
    ("LLMSTATS_FLUSH_SECONDS", "1e9", "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400, not '1e9'"),
    ("LLMSTATS_FLUSH_ROWS", "0", "LLMSTATS_FLUSH_ROWS must be a whole number of rows from 1 to 10,000,000, not '0'"),
    ("LLMSTATS_FLUSH_ROWS", "2.5", "LLMSTATS_FLUSH_ROWS must be a whole number of rows from 1 to 10,000,000, not '2.5'"),
    ("LLMSTATS_FLUSH_ROWS", "nan", "LLMSTATS_FLUSH_ROWS must be a whole number of rows from 1 to 10,000,000, not 'nan'"),
    ("LLMSTATS_MAX_PENDING_ROWS", "-1", "LLMSTATS_MAX_PENDING_ROWS must be a whole number of rows from 0 to 1,000,000, not '-1'"),
    ("LLMSTATS_RETENTION_DAYS", "0", "LLMSTATS_RETENTION_DAYS must be a whole number of days from 1 to 36,500, not '0'"),
    ("LLMSTATS_RETENTION_DAYS", "99999999999", "LLMSTATS_RETENTION_DAYS must be a whole number of days from 1 to 36,500, not '99999999999'"),
    ("LLMSTATS_RETENTION_DAYS", "30d", "LLMSTATS_RETENTION_DAYS must be a whole number of days from 1 to 36,500, not '30d'"),
    ("LLMSTATS_ENABLED", "maybe", "LLMSTATS_ENABLED must be true or false (or 1/0, yes/no, on/off), not 'maybe'"),
    ("LLMSTATS_SEGMENTS", "2", "LLMSTATS_SEGMENTS must be true or false (or 1/0, yes/no, on/off), not '2'"),
    ("LLMSTATS_CONVERTER", "thread", "LLMSTATS_CONVERTER must be one of process, inline, not 'thread'"),
    ("LLMSTATS_SPOOL_DIR", "s3://bucket/spool", "LLMSTATS_SPOOL_DIR must be a local path (the spool never leaves the machine)"),
    ("LLMSTATS_HASH_KEY", "hunter2", "LLMSTATS_HASH_KEY must be at least 16 characters"),
    ("LLMSTATS_DATA_DIR", "s3://AKIA:hunter2@bucket/p", "LLMSTATS_DATA_DIR must not carry credentials"),
    ("LLMSTATS_DATA_DIR", "s3://AKIA@bucket/p", "LLMSTATS_DATA_DIR must not carry credentials"),
    ("LLMSTATS_DATA_DIR", "abfs://container:hunter2@acct.dfs.core.windows.net/p", "LLMSTATS_DATA_DIR must not carry credentials"),
    ("LLMSTATS_DATA_DIR", "s3://bucket/p?endpoint_override=x", "LLMSTATS_DATA_DIR takes no query options"),
    ("LLMSTATS_DATA_DIR", "s3:///p", "LLMSTATS_DATA_DIR names no bucket"),
    ("LLMSTATS_DATA_DIR", "ftp://hunter2@host/p", "LLMSTATS_DATA_DIR: the scheme ftp:// is not supported; use a local path or an object-store URI (s3, gs, gcs, abfs, abfss, hdfs)"),
    ("LLMSTATS_DATA_DIR", "https://host/p", "LLMSTATS_DATA_DIR: the scheme https:// is not supported"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_ENV)
def test_bad_values_name_the_setting_and_what_it_accepts(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    env = {"LLMSTATS_CONFIG": str(tmp_path / "none.toml"), name: value}
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    text = str(raised.value)
    assert text.startswith(message), text
    assert "\n" not in text
    if name in ("LLMSTATS_DATA_DIR", "LLMSTATS_HASH_KEY", "LLMSTATS_SPOOL_DIR"):
        assert value not in text  # a URI or a key may hold a secret: never repeated


BAD_FILES = [
    ('privacy = "full', "config file {file} is not valid TOML: Illegal character"),
    ("flush_seconds = nan", "flush_seconds in {file} must be a number of seconds from 0.05 to 86,400, not nan"),
    ("flush_seconds = inf", "flush_seconds in {file} must be a number of seconds from 0.05 to 86,400, not inf"),
    ('flush_seconds = "soon"', "flush_seconds in {file} must be a number of seconds"),
    ("flush_rows = true", "flush_rows in {file} must be a whole number of rows from 1 to 10,000,000, not True"),
    ("flush_rows = 7.5", "flush_rows in {file} must be a whole number of rows"),
    ("flush_rows = [7]", "flush_rows in {file} must be a whole number of rows"),
    ("retention_days = {days = 3}", "retention_days in {file} must be a whole number of days"),
    ("privacy = 3", "privacy in {file} must be one of minimal, standard, full, not 3"),
    ("enabled = 1", "enabled in {file} must be true or false (or 1/0, yes/no, on/off), not 1"),
    ("data_dir = 5", "data_dir in {file} must be a local path or an object-store URI"),
    ('data_dir = ""', "data_dir in {file} must be a local path or an object-store URI"),
    ("spool_dir = false", "spool_dir in {file} must be a local path"),
    ("hash_key = 12345678901234567890", "hash_key in {file} must be at least 16 characters"),
    ("flush_secs = 5", "config file {file}: unknown setting 'flush_secs' (known: converter, data_dir, "),
    ("[llmstats]\nprivacy = 'full'", "config file {file}: unknown setting 'llmstats'"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_a_broken_or_wrong_typed_config_file_names_the_key_and_what_it_accepts(
    tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text + "\n")
    with pytest.raises(ConfigError) as raised:
        load_settings({"LLMSTATS_CONFIG": str(config)})
    assert str(raised.value).startswith(message.format(file=config)), str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_unreadable_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config file .* cannot be read: \[Errno 21\]"):
        load_settings({"LLMSTATS_CONFIG": str(tmp_path)})  # a directory


def test_good_values_of_every_kind_are_accepted(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'flush_seconds = 0.05\nflush_rows = 10_000_000\nretention_days = 36500\n'
        'enabled = "off"\nsegments = false\nmax_pending_rows = 0\n'
        'hash_key = "0123456789abcdef"\nconverter = " Inline "\n'
        'data_dir = "abfss://container@acct.dfs.core.windows.net/llm/"\n'
    )
    env = {"LLMSTATS_CONFIG": str(config), "LLMSTATS_PRIVACY": "FULL", "LLMSTATS_ENABLED": "Yes"}
    settings = load_settings(env, flush_seconds="86400")
    assert (settings.flush_seconds, settings.flush_rows, settings.retention_days) == (
        86_400.0, 10_000_000, 36_500
    )
    assert (settings.enabled, settings.segments, settings.max_pending_rows) == (True, False, 0)
    assert (settings.privacy, settings.converter) == ("full", "inline")
    assert settings.data_dir == "abfss://container@acct.dfs.core.windows.net/llm"
    assert settings.hash_key == "0123456789abcdef"


def test_object_store_data_dir_keeps_a_local_spool(tmp_path: Path) -> None:
    env = {
        "LLMSTATS_CONFIG": str(tmp_path / "none.toml"),
        "LLMSTATS_DATA_DIR": "s3://bucket/prefix",
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    settings = load_settings({**env, "LLMSTATS_DATA_DIR": "s3://bucket/prefix/"})
    assert settings.data_dir == "s3://bucket/prefix"
    assert settings.is_remote and settings.local_data_dir is None
    assert settings.spool_dir.is_relative_to(tmp_path / "state" / "llmstats" / "spool")


def test_the_autouse_fixture_keeps_tests_out_of_the_real_data_dir(isolated_data_dir: Path) -> None:
    assert load_settings().data_dir == str(isolated_data_dir)
    assert Path(load_settings().data_dir) != user_data_dir()


def test_the_readme_states_what_every_setting_accepts() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[3]
        for line in readme.splitlines()
        if line.startswith("| `LLMSTATS_")
    }
    assert set(rows) == {ENV_PREFIX + key.upper() for key in KNOWN_KEYS}
    for key, spec in NUMBER_RANGES.items():
        low, high = spec.describe().split(" from ")[1].split(" to ")
        assert f"from {low} to {high}" in rows[ENV_PREFIX + key.upper()], key
    for key, choices in CHOICES.items():
        assert all(f"`{choice}`" in rows[ENV_PREFIX + key.upper()] for choice in choices), key
    assert f"at least {MIN_HASH_KEY_LENGTH} characters" in rows["LLMSTATS_HASH_KEY"]
    for scheme in OBJECT_STORE_SCHEMES:
        assert f"`{scheme}`" in rows["LLMSTATS_DATA_DIR"], scheme
