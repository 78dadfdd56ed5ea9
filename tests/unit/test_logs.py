"""Upstream's logging options shape the root handlers."""

from __future__ import annotations

import json
import logging

import pytest

from allotment.config import ConfigError, Settings
from allotment.logs import JSONFormatter, setup_logging


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    before = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in before[0]:
            root.removeHandler(handler)
            handler.close()
    for handler in before[0]:
        if handler not in root.handlers:
            root.addHandler(handler)  # log_config_append replaced the root's handlers
    root.setLevel(before[1])


def test_log_file_under_log_dir_in_json(tmp_path, restore_root):
    setup_logging(Settings(log_file="p.log", log_dir=str(tmp_path), use_json=True))
    logging.getLogger("allotment.test").warning("hello %s", "world")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("allotment.test").exception("failed")
    lines = (tmp_path / "p.log").read_text().splitlines()
    objects = [json.loads(line) for line in lines]
    assert objects[0]["message"] == "hello world" and objects[0]["level"] == "WARNING"
    assert "ValueError: boom" in objects[1]["traceback"] and len(lines) == 2


def test_log_config_append_is_applied(tmp_path, restore_root):
    target = tmp_path / "out.log"
    config = tmp_path / "logging.conf"
    config.write_text(
        "[loggers]\nkeys=root\n[handlers]\nkeys=file\n[formatters]\nkeys=plain\n"
        "[logger_root]\nlevel=INFO\nhandlers=file\n"
        f"[handler_file]\nclass=FileHandler\nformatter=plain\nargs=('{target}',)\n"
        "[formatter_plain]\nformat=CUSTOM %(message)s\n"
    )
    setup_logging(Settings(log_config_append=str(config)))
    logging.getLogger("allotment.test").info("via fileConfig")
    assert "CUSTOM via fileConfig" in target.read_text()


def test_bad_log_settings_are_config_errors(tmp_path, restore_root):
    with pytest.raises(ConfigError, match="syslog_log_facility"):
        setup_logging(Settings(use_syslog=True, syslog_log_facility="LOG_NOPE"))
    with pytest.raises(ConfigError, match="log_file"):
        setup_logging(Settings(log_file=str(tmp_path / "missing" / "dir" / "p.log")))


def test_access_json_object_is_merged_not_nested():
    record = logging.LogRecord(
        "allotment.access", logging.INFO, __file__, 1, '{"method": "GET", "status": 200}', (), None
    )
    document = json.loads(JSONFormatter().format(record))
    assert document["method"] == "GET" and document["status"] == 200
