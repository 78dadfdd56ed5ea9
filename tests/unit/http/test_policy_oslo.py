"""The oslo.policy entry points the oslopolicy-* tools load (namespace placement)."""

from __future__ import annotations

from importlib.metadata import entry_points

from allotment.http.policy import RULES


def test_entry_points_give_every_rule_to_oslo_policy(tmp_path, monkeypatch):
    policies = {ep.name: ep for ep in entry_points(group="oslo.policy.policies")}
    enforcers = {ep.name: ep for ep in entry_points(group="oslo.policy.enforcer")}
    defaults = policies["placement"].load()()
    assert [d.name for d in defaults] == [rule.name for rule in RULES]
    reshape = next(d for d in defaults if d.name == "placement:reshaper:reshape")
    assert reshape.check_str == "rule:service_api"
    assert {"method": "POST", "path": "/reshaper"} in reshape.operations

    conf = tmp_path / "placement.conf"
    conf.write_text("[placement_database]\nconnection = sqlite://\n")
    monkeypatch.setenv("OS_PLACEMENT_CONFIG_DIR", str(tmp_path))
    enforcer = enforcers["placement"].load()()
    enforcer.load_rules()
    assert "placement:traits:list" in enforcer.rules
