"""``allotment policy list`` and the start-up refusal of broken configuration."""

from __future__ import annotations

import json

import pytest

from allotment import cli, config
from allotment.app import check_settings, make_app
from allotment.config import ConfigError
from allotment.http.policy import API_RULES, BASE_RULES, PolicyFileError


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "placement.conf"
    path.write_text(
        f"[placement_database]\nconnection = sqlite:///{tmp_path}/p.sqlite\n"
        "[api]\nauth_strategy = noauth2\n"
        "[oslo_policy]\nenforce_new_defaults = false\n"
    )
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_every_rule_with_default_and_effective(conf, capsys):
    (conf.parent / "policy.yaml").write_text(
        '# comment\n"placement:traits:list": "role:reader"\nmine: "role:x"\n'
    )
    code, out, _ = run(capsys, "--config-file", str(conf), "policy", "list")
    assert code == 0
    assert f"policy file: {conf.parent / 'policy.yaml'}" in out
    for rule in (*BASE_RULES, *API_RULES):
        assert f"\n{rule.name}\n" in out, rule.name
    block = out.split("\nplacement:traits:list\n")[1].split("\n\n")[0]
    assert "default:     rule:admin_or_service_api" in block
    assert "effective:   role:reader" in block
    assert f"source:      policy file {conf.parent / 'policy.yaml'}, line 2" in block
    assert "operation:   GET /traits" in block
    legacy = out.split("\nservice_api\n")[1].split("\n\n")[0]
    assert "effective:   (role:service) or (role:admin)" in legacy
    assert out.rstrip().endswith(f"source:      policy file {conf.parent / 'policy.yaml'}, line 3")


def test_list_json(conf, capsys):
    code, out, _ = run(capsys, "--config-file", str(conf), "policy", "list", "--json")
    assert code == 0
    rules = {rule["name"]: rule for rule in json.loads(out)}
    assert len(rules) == len(BASE_RULES) + len(API_RULES)
    reshape = rules["placement:reshaper:reshape"]
    assert reshape["default"] == "rule:service_api"
    assert reshape["effective"] == "rule:service_api"
    assert reshape["operations"] == ["POST /reshaper"]
    assert reshape["scope_types"] == ["project"]
    assert rules["placement:resource_providers:inventories:update"]["operations"] == [
        "PUT /resource_providers/{uuid}/inventories",
        "PUT /resource_providers/{uuid}/inventories/{resource_class}",
    ]


def test_list_refuses_a_broken_policy_file(conf, capsys):
    (conf.parent / "policy.yaml").write_text('ok: "@"\n"placement:usages": "role:a or or"\n')
    code, out, err = run(capsys, "--config-file", str(conf), "policy", "list")
    assert code == 2 and out == ""
    assert "line 2: rule 'placement:usages': cannot parse" in err


def test_app_refuses_a_broken_policy_file(conf):
    (conf.parent / "policy.yaml").write_text('"placement:usages": "rule:missing"\n')
    settings = config.load([str(conf)], environ={})
    with pytest.raises(PolicyFileError, match="refers to unknown rule 'missing'"):
        check_settings(settings)
    with pytest.raises(PolicyFileError):
        make_app(settings)


def test_keystone_misconfiguration_is_refused_at_start(conf):
    settings = config.load([str(conf)], environ={}).replace(
        auth_strategy="keystone", sections={"keystone_authtoken": {"auth_type": "nope"}}
    )
    with pytest.raises(ConfigError, match="auth_type"):
        check_settings(settings)
