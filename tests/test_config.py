"""Settings resolve once: keyword over env over TOML file over defaults; bad values say which."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmstats.plugin.config import ConfigError, load_settings, user_data_dir


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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LLMSTATS_PRIVACY", "secret", "LLMSTATS_PRIVACY must be one of minimal, standard, full"),
        ("LLMSTATS_FLUSH_SECONDS", "soon", "LLMSTATS_FLUSH_SECONDS must be a number"),
        ("LLMSTATS_FLUSH_ROWS", "0", "LLMSTATS_FLUSH_ROWS must be at least 1"),
        ("LLMSTATS_ENABLED", "maybe", "LLMSTATS_ENABLED must be true or false"),
        ("LLMSTATS_DATA_DIR", "s3://AKIA:hunter2@bucket/p", "must not carry credentials"),
        ("LLMSTATS_DATA_DIR", "s3://bucket/p?endpoint_override=x", "takes no query options"),
        ("LLMSTATS_DATA_DIR", "s3:///p", "names no bucket"),
    ],
)
def test_bad_values_name_the_setting(tmp_path: Path, name: str, value: str, message: str) -> None:
    env = {"LLMSTATS_CONFIG": str(tmp_path / "none.toml"), name: value}
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


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
