"""The option registry and placement.conf parsing (oslo.config's rules)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from oslo_config import cfg

from allotment import config
from allotment.options import OPTIONS

# Settings() (built by programs and tests) runs embedded; a config file has upstream's.
EMBEDDED_DEFAULTS = {
    "database_url",
    "auth_strategy",
    "sync_on_startup",
    "policy_file",
    "policy_dirs",  # resolved to absolute directories
}


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_settings_defaults_match_the_registry_but_for_the_embedded_ones():
    defaults = config.Settings()
    for option in OPTIONS:
        if option.field is None or option.field in EMBEDDED_DEFAULTS:
            continue
        assert getattr(defaults, option.field) == option.default, option.key


def test_values_parse_as_oslo_config_parses_them(tmp_path):
    conf = _write(
        tmp_path / "placement.conf",
        """
[DEFAULT]
state_path = /srv/placement
[placement_database]
connection = "sqlite:///$state_path/p.sqlite"
sync_on_startup = yes
max_pool_size = 3
[cors]
allowed_origin = https://a.example, https://b.example
[placement]
randomize_allocation_candidates = On
""",
    )
    settings = config.load([conf], environ={})
    assert settings.database_url == "sqlite:////srv/placement/p.sqlite"
    assert settings.sync_on_startup is True
    assert settings.max_pool_size == 3
    assert settings.cors_allowed_origin == ("https://a.example", "https://b.example")
    assert settings.randomize_allocation_candidates is True
    assert settings.auth_strategy == "keystone"  # upstream's default with a file


def test_conf_d_directory_entries_override_the_file_in_name_order(tmp_path):
    conf = _write(tmp_path / "placement.conf", "[placement]\nmax_allocation_candidates = 5\n")
    for name, value in (("10.conf", 6), ("20.conf", 7)):
        text = f"[placement]\nmax_allocation_candidates = {value}\n"
        _write(tmp_path / "placement.conf.d" / name, text)
    settings = config.load([conf], environ={}, config_dir=[str(tmp_path / "placement.conf.d")])
    assert settings.max_allocation_candidates == 7


def test_default_search_finds_etc_placement_via_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    _write(tmp_path / ".placement" / "placement.conf", "[api]\nauth_strategy = noauth2\n")
    _write(
        tmp_path / ".placement" / "placement.conf.d" / "db.conf",
        "[placement_database]\nconnection = sqlite:///x.sqlite\n",
    )
    settings = config.load(environ={})
    assert settings.database_url == "sqlite:///x.sqlite"
    assert settings.auth_strategy == "noauth2"
    assert settings.config_files[0].endswith(".placement/placement.conf")


def test_precedence_file_then_environment_then_overrides(tmp_path):
    conf = _write(tmp_path / "p.conf", "[allotment]\nworkers = 3\nbind = 127.0.0.1:1000\n")
    env = {"ALLOTMENT_WORKERS": "5", "ALLOTMENT_BIND": "127.0.0.1:2000"}
    settings = config.load([conf], {"bind": "127.0.0.1:3000"}, environ=env)
    assert settings.workers == 5
    assert settings.bind == "127.0.0.1:3000"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[placement_database]\nmax_pool_size = lots\n", "[placement_database] max_pool_size"),
        ("[api]\nauth_strategy = 'nope'\n", "[api] auth_strategy"),
        ("[placement_database\nconnection = x\n", "placement.conf"),
        ("[allotment]\nbind = 127.0.0.1:99999\n", "port must be"),
    ],
)
def test_malformed_values_are_one_config_error_naming_the_option(tmp_path, text, needle):
    conf = _write(tmp_path / "placement.conf", text)
    with pytest.raises(config.ConfigError) as raised:
        config.load([conf], environ={})
    assert needle in str(raised.value)
    assert "\n" not in str(raised.value)


def test_wsgi_mode_refuses_to_run_without_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(config.ConfigError, match="no configuration found"):
        config.load(environ={}, require_database=True)
    conf = _write(tmp_path / "placement.conf", "[api]\nauth_strategy = noauth2\n")
    with pytest.raises(config.ConfigError, match=r"set \[placement_database\] connection"):
        config.load([conf], environ={}, require_database=True)


def test_embedded_only_without_any_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = config.load(environ={})
    assert settings.embedded and settings.auth_strategy == "noauth2"
    conf = _write(tmp_path / "placement.conf", "[placement_database]\nconnection = sqlite://\n")
    settings = config.load([conf], environ={})
    assert not settings.embedded and settings.auth_strategy == "keystone"
    assert settings.sync_on_startup is False


def test_unsupported_options_are_named_in_start_up_notices(tmp_path):
    conf = _write(
        tmp_path / "placement.conf",
        "[placement_database]\nconnection = sqlite://\nconnection_trace = true\n"
        "[profiler]\nenabled = true\n",
    )
    notices = config.load([conf], environ={}).notices
    assert any("[placement_database] connection_trace" in n for n in notices)
    assert any("[profiler] enabled" in n for n in notices)


def test_settings_from_a_callers_conf_object():
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    config.register_opts(conf)  # idempotent
    conf([], default_config_files=[], default_config_dirs=[])
    conf.set_override("connection", "sqlite://", group="placement_database")
    conf.set_override("max_allocation_candidates", 9, group="placement")
    settings = config.settings_from_conf(conf, auth_strategy="noauth2")
    assert settings.database_url == "sqlite://"
    assert settings.max_allocation_candidates == 9
    assert dataclasses.is_dataclass(settings)


def test_legacy_file_options_entries_are_registered(monkeypatch, tmp_path):
    monkeypatch.setitem(config.FILE_OPTIONS, ("allotment", "renamed_workers"), "workers")
    monkeypatch.setattr(config, "OPTIONS", tuple(o for o in config.OPTIONS if o.field != "workers"))
    monkeypatch.setattr(
        config,
        "OPTIONS_BY_FIELD",
        {k: v for k, v in config.OPTIONS_BY_FIELD.items() if k != "workers"},
    )
    conf = _write(tmp_path / "p.conf", "[allotment]\nrenamed_workers = 4\n")
    assert config.load([conf], environ={}).workers == 4


def test_config_sample_names_every_option_and_uncommented_parses(tmp_path):
    from allotment.commands.config_sample import sample_conf

    text = sample_conf()
    for option in config.all_options():
        assert f"[{option.group}]" in text
        assert f"\n#{option.name} = " in text, option.key
    # Uncommenting every default gives a file that loads to the same settings.
    uncommented = "\n".join(
        line[1:] if line.startswith("#") and " = " in line and not line.startswith("# ") else line
        for line in text.splitlines()
        if "<None>" not in line
    )
    path = _write(tmp_path / "placement.conf", uncommented)
    settings = config.load([path], environ={})
    assert settings.max_retries == 10 and settings.auth_strategy == "keystone"


def test_placement_manage_and_status_aliases(tmp_path, capsys):
    from allotment.commands import compat
    from allotment.store import schema

    conf = _write(
        tmp_path / "placement.conf",
        f"[placement_database]\nconnection = sqlite:///{tmp_path}/p.sqlite\n",
    )
    assert compat.manage_main(["--config-file", conf, "db", "sync"]) == 0
    assert capsys.readouterr().out == ""
    assert compat.manage_main(["--config-file", conf, "db", "version"]) == 0
    assert capsys.readouterr().out.strip() == schema.head_revision()
    assert compat.status_main(["--config-file", conf, "upgrade", "check"]) == 0
    assert "Upgrade Check Results" in capsys.readouterr().out


def test_unknown_options_in_placement_sections_are_named(tmp_path):
    conf = _write(
        tmp_path / "placement.conf",
        "[placement_database]\nconnection = sqlite://\nmax_pool_sizee = 5\n"
        "[keystone_authtoken]\nauth_url = http://k\n",
    )
    notices = config.load([conf], environ={}).notices
    assert notices == (
        "[placement_database] max_pool_sizee is not an option allotment knows; ignored",
    )
