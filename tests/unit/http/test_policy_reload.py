"""Policy files are re-read on change; a broken one keeps the last good rules."""

from __future__ import annotations

import logging
import os

from allotment.config import Settings
from allotment.http.policy_reload import ReloadingEnforcer


class _Context:
    def __init__(self, roles: list[str]) -> None:
        self.roles = roles

    def policy_credentials(self) -> dict[str, object]:
        return {"roles": self.roles, "project_id": "p", "user_id": "u", "system_scope": None}


def _bump(path, text):
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_changed_file_is_reread_and_broken_file_keeps_last_rules(tmp_path, caplog):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"placement:traits:list": "role:reader"\n')
    enforcer = ReloadingEnforcer(Settings(policy_file=str(policy), enforce_scope=False))
    reader = _Context(["reader"])
    assert enforcer.allowed("placement:traits:list", reader, {})
    _bump(policy, '"placement:traits:list": "role:admin"\n')
    assert not enforcer.allowed("placement:traits:list", reader, {})
    with caplog.at_level(logging.ERROR):
        _bump(policy, '"placement:traits:list": "role:reader" or [\n')
        assert not enforcer.allowed("placement:traits:list", reader, {})
    assert any("keeping the last good policy rules" in r.getMessage() for r in caplog.records)
    _bump(policy, '"placement:traits:list": "@"\n')
    assert enforcer.allowed("placement:traits:list", reader, {})


def test_policy_dirs_are_layered_after_the_file(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"placement:traits:list": "role:reader"\n')
    rules = tmp_path / "policy.d"
    rules.mkdir()
    (rules / "10-traits.yaml").write_text('"placement:traits:list": "role:auditor"\n')
    settings = Settings(policy_file=str(policy), policy_dirs=(str(rules),), enforce_scope=False)
    enforcer = ReloadingEnforcer(settings)
    assert enforcer.allowed("placement:traits:list", _Context(["auditor"]), {})
    assert not enforcer.allowed("placement:traits:list", _Context(["reader"]), {})
    (rules / "20-more.yaml").write_text('"placement:traits:list": "role:reader"\n')
    assert enforcer.allowed("placement:traits:list", _Context(["reader"]), {})


def test_a_worker_started_with_a_broken_file_uses_the_last_good_rules(tmp_path, caplog):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"placement:traits:list": "role:reader"\n')
    settings = Settings(policy_file=str(policy), enforce_scope=False)
    ReloadingEnforcer(settings)  # the server process loads good rules
    policy.write_text("{{{ not yaml\n")  # then the file breaks; SIGHUP restarts workers
    with caplog.at_level(logging.ERROR):
        worker = ReloadingEnforcer(settings)
    assert worker.allowed("placement:traits:list", _Context(["reader"]), {})
