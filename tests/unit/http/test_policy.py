"""The policy rule language, the default rule sets, scope checks and policy files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allotment import config
from allotment.config import Settings
from allotment.http import routes
from allotment.http.auth import RequestContext
from allotment.http.policy import (
    API_RULES,
    RULES,
    Enforcer,
    InvalidScope,
    PolicyDenied,
    PolicyFileError,
    RuleSyntaxError,
    parse_rule,
    read_policy_file,
)

PROJECT = "6d1e2d5e-0000-4000-8000-000000000001"
OTHER = "6d1e2d5e-0000-4000-8000-000000000002"


def ctx(
    *roles: str,
    project: str | None = PROJECT,
    user: str = "u1",
    system_scope: str | None = None,
    domain: str | None = None,
) -> RequestContext:
    return RequestContext(
        user, project, frozenset(roles), system_scope=system_scope, domain_id=domain
    )


def check(rule: str, context: RequestContext, target: dict | None = None) -> bool:
    node = parse_rule(rule)
    creds = context.policy_credentials()
    return node.evaluate(creds, target or {"project_id": PROJECT}, {})


# ---------------------------------------------------------------- the language


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("@", True),
        ("!", False),
        ("", True),
        ("   ", True),
        ("role:admin", True),
        ("role:ADMIN", True),  # roles compare case-insensitively
        ("role:reader", False),
        ("not role:reader", True),
        ("NOT role:admin", False),  # keywords are case-insensitive
        ("role:reader or role:admin", True),
        ("role:reader and role:admin", False),
        ("role:admin or role:reader and role:nope", True),  # and binds tighter
        ("(role:admin or role:reader) and role:nope", False),
        ("not (role:reader or role:nope)", True),
        ("not role:reader and role:admin", True),  # not binds to one check
        ("((role:admin))", True),
        ("project_id:%(project_id)s", True),
        ("project_id:%(missing)s", False),  # missing target key fails closed
        ("user_id:u1", True),
        ("user_id:u2", False),
        ("is_admin:True", True),
        ("is_admin:False", False),
        ("'u1':%(user)s", True),  # literal on the left, target on the right
        ("True:%(flag)s", True),
        ("roles:admin", True),  # list credentials match any element
        ("nosuchcred:x", False),
        ("role:%(wanted_role)s", True),
        ("role:%(missing)s", False),
    ],
)
def test_rule_language(rule, expected):
    target = {"project_id": PROJECT, "user": "u1", "flag": True, "wanted_role": "admin"}
    assert check(rule, ctx("admin"), target) is expected


def test_project_reader_rule_compares_with_the_target():
    rule = "role:reader and project_id:%(project_id)s"
    assert check(rule, ctx("reader"), {"project_id": PROJECT})
    assert not check(rule, ctx("reader"), {"project_id": OTHER})
    assert not check(rule, ctx("member"), {"project_id": PROJECT})


def test_dotted_credentials_walk_nested_values():
    node = parse_rule("token.user.id:u1 and token.roles.name:admin")
    creds = {"token": {"user": {"id": "u1"}, "roles": [{"name": "reader"}, {"name": "admin"}]}}
    assert node.evaluate(creds, {}, {})
    assert not parse_rule("token.user.name:u1").evaluate(creds, {}, {})


def test_rule_references_are_followed():
    rules = {"base": parse_rule("role:admin")}
    assert parse_rule("rule:base").evaluate({"roles": ["admin"]}, {}, rules)
    assert not parse_rule("rule:base").evaluate({"roles": []}, {}, rules)
    assert not parse_rule("rule:missing").evaluate({"roles": ["admin"]}, {}, rules)


def test_legacy_list_rules():
    node = parse_rule([["role:reader", "project_id:%(project_id)s"], ["role:admin"]])
    assert node.evaluate({"roles": ["admin"]}, {"project_id": "p"}, {})
    assert node.evaluate({"roles": ["reader"], "project_id": "p"}, {"project_id": "p"}, {})
    assert not node.evaluate({"roles": ["reader"], "project_id": "q"}, {"project_id": "p"}, {})
    assert parse_rule([]).evaluate({}, {}, {})


@pytest.mark.parametrize(
    "rule",
    [
        "role:admin or",
        "and role:admin",
        "(role:admin",
        "role:admin)",
        "role:admin role:reader",
        "admin",
        ":x",
        "not",
        "()",
        "'quoted'",
        "http://example.com/check",
        "role:admin or or role:x",
    ],
)
def test_unparsable_rules_are_refused(rule):
    with pytest.raises(RuleSyntaxError):
        parse_rule(rule)


def test_non_string_rule_is_refused():
    with pytest.raises(RuleSyntaxError):
        parse_rule(42)


# ---------------------------------------------------------------- defaults

PERSONAS = {
    "admin": ctx("admin", "member", "reader"),
    "service": ctx("service"),
    "reader": ctx("reader"),
    "member": ctx("member", "reader", project=OTHER),
    "nobody": ctx(),
}


def expected_new(policy: str, persona: str, own_project: bool) -> bool:
    """Upstream's secure-RBAC defaults, written out by hand."""
    if policy == "placement:reshaper:reshape":
        return persona == "service"
    if policy == "placement:allocation_candidates:explain":
        return persona == "admin"  # an allotment extension: admin only
    if policy == "placement:usages":
        return persona in ("admin", "service") or (persona in ("reader", "member") and own_project)
    return persona in ("admin", "service")


def expected_legacy(policy: str, persona: str, own_project: bool) -> bool:
    return persona == "admin" or expected_new(policy, persona, own_project)


@pytest.mark.parametrize("rule", API_RULES, ids=lambda r: r.name)
@pytest.mark.parametrize("new_defaults", [True, False], ids=["new", "legacy"])
def test_default_matrix(rule, new_defaults):
    enforcer = Enforcer(enforce_new_defaults=new_defaults)
    expected = expected_new if new_defaults else expected_legacy
    for persona, context in PERSONAS.items():
        for target_project in (PROJECT, OTHER):
            own = context.project_id == target_project
            target = {"project_id": target_project, "user_id": context.user_id}
            allowed = enforcer.allowed(rule.name, context, target)
            assert allowed is expected(rule.name, persona, own), (persona, target_project)


def test_every_route_policy_is_registered_and_every_api_rule_is_used():
    used = {e.policy for r in routes.ROUTES for e in r.methods.values() if e.policy}
    assert used == {rule.name for rule in API_RULES}


def test_reshaper_is_service_only_with_new_defaults_but_admin_with_legacy():
    target = {"project_id": PROJECT}
    assert not Enforcer(True).allowed("placement:reshaper:reshape", PERSONAS["admin"], target)
    assert Enforcer(False).allowed("placement:reshaper:reshape", PERSONAS["admin"], target)


def test_legacy_effective_text_ors_role_admin():
    assert Enforcer(True).rule_text("admin_or_service_api") == "role:admin or role:service"
    assert Enforcer(False).rule_text("admin_or_service_api") == (
        "(role:admin or role:service) or (role:admin)"
    )
    assert Enforcer(False).rule_text("admin_api") == "role:admin"  # never deprecated


def test_denial_message_names_the_policy():
    with pytest.raises(PolicyDenied) as denied:
        Enforcer().authorize("placement:traits:list", PERSONAS["reader"], {})
    assert str(denied.value) == "Policy does not allow placement:traits:list to be performed."


# ---------------------------------------------------------------- scope


def test_scope_is_only_checked_when_enforced():
    system_admin = ctx("admin", project=None, system_scope="all")
    name = "placement:resource_providers:list"
    assert Enforcer(enforce_scope=False).allowed(name, system_admin, {})
    with pytest.raises(InvalidScope) as error:
        Enforcer(enforce_scope=True).authorize(name, system_admin, {})
    assert error.value.token_scope == "system"
    assert str(error.value) == f"Policy does not allow {name} to be performed."


def test_domain_scoped_token_is_refused_with_enforce_scope():
    domain_admin = ctx("admin", project=None, domain="default")
    assert not Enforcer(enforce_scope=True).allowed(
        "placement:resource_providers:list", domain_admin, {}
    )


def test_project_scoped_token_passes_scope_check():
    assert Enforcer(enforce_scope=True).allowed(
        "placement:resource_providers:list", PERSONAS["admin"], {}
    )


# ---------------------------------------------------------------- policy files


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def enforcer_for(path: Path, **settings) -> Enforcer:
    return Enforcer.from_settings(Settings(policy_file=str(path), **settings))


def test_yaml_override_replaces_a_rule(tmp_path):
    path = write(
        tmp_path,
        '# readers may list providers\n"placement:resource_providers:list": "role:reader"\n',
    )
    enforcer = enforcer_for(path)
    assert enforcer.allowed("placement:resource_providers:list", PERSONAS["reader"], {})
    assert not enforcer.allowed("placement:resource_providers:list", ctx("admin"), {})
    effective = enforcer.effective["placement:resource_providers:list"]
    assert effective.source == f"policy file {path}, line 2"


def test_overriding_a_base_rule_changes_every_policy_using_it(tmp_path):
    path = write(tmp_path, 'admin_or_service_api: "role:operator"\n')
    enforcer = enforcer_for(path)
    operator = ctx("operator")
    for rule in API_RULES:
        if rule.default == "rule:admin_or_service_api":
            assert enforcer.allowed(rule.name, operator, {}), rule.name
            assert not enforcer.allowed(rule.name, ctx("admin"), {}), rule.name


def test_override_wins_over_legacy_defaults(tmp_path):
    path = write(tmp_path, '"placement:traits:list": "role:service"\n')
    enforcer = enforcer_for(path, enforce_new_defaults=False)
    assert not enforcer.allowed("placement:traits:list", ctx("admin"), {})
    # Rules not in the file still get the legacy role:admin.
    assert enforcer.allowed("placement:reshaper:reshape", ctx("admin"), {})


def test_file_may_define_helper_rules(tmp_path):
    path = write(
        tmp_path,
        'is_owner: "project_id:%(project_id)s"\n'
        '"placement:usages": "rule:is_owner or rule:admin_api"\n',
    )
    enforcer = enforcer_for(path)
    assert enforcer.allowed("placement:usages", ctx("member"), {"project_id": PROJECT})
    assert not enforcer.allowed("placement:usages", ctx("member"), {"project_id": OTHER})
    names = [e.name for e in enforcer.rules()]
    assert names[-1] == "is_owner"
    assert names[: len(RULES)] == [r.name for r in RULES]


def test_json_policy_file(tmp_path):
    path = write(tmp_path, json.dumps({"placement:traits:list": "@"}), "policy.json")
    assert enforcer_for(path).allowed("placement:traits:list", ctx(), {})


def test_empty_policy_file_means_defaults(tmp_path):
    path = write(tmp_path, "# nothing here\n")
    assert read_policy_file(path) == []
    assert enforcer_for(path).rule_text("placement:traits:list") == "rule:admin_or_service_api"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a: "role:x"\nb: [unclosed\n', "not valid YAML or JSON"),
        ('- "role:x"\n', "expected a mapping"),
        ('"placement:usages": "role:admin or"\n', "line 1: rule 'placement:usages': cannot parse"),
        (
            '# c\n\n"placement:usages": "rule:nope"\n',
            "line 3: rule 'placement:usages' refers to unknown rule 'nope'",
        ),
        ('a: "rule:b"\nb: "rule:a"\n', "rules refer in a loop: a -> b -> a"),
        ('"placement:usages": 3\n', "line 1: rule 'placement:usages': cannot parse"),
        ('1: "@"\n', "line 1: rule name must be a string"),
    ],
)
def test_broken_policy_files_are_refused(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(PolicyFileError) as error:
        enforcer_for(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_missing_configured_policy_file_is_refused(tmp_path):
    with pytest.raises(PolicyFileError, match="does not exist"):
        enforcer_for(tmp_path / "custom.yaml")


def test_missing_default_named_policy_file_means_defaults(tmp_path):
    enforcer = enforcer_for(tmp_path / "policy.yaml")
    assert enforcer.effective["placement:usages"].source == "default"


def test_policy_file_error_is_a_config_error():
    assert issubclass(PolicyFileError, config.ConfigError)


# ---------------------------------------------------------------- config paths


def test_relative_policy_file_is_next_to_the_config_file(tmp_path):
    conf = tmp_path / "etc" / "placement.conf"
    conf.parent.mkdir()
    conf.write_text("[oslo_policy]\npolicy_file = rules.yaml\n")
    settings = config.load([str(conf)], environ={})
    assert settings.policy_file == str(conf.parent / "rules.yaml")


def test_default_policy_file_is_policy_yaml_next_to_the_config_file(tmp_path):
    conf = tmp_path / "placement.conf"
    conf.write_text("[api]\nauth_strategy = noauth2\n")
    settings = config.load([str(conf)], environ={})
    assert settings.policy_file == str(tmp_path / "policy.yaml")
    write(tmp_path, '"placement:traits:list": "@"\n')
    assert Enforcer.from_settings(settings).allowed("placement:traits:list", ctx(), {})


def test_absolute_policy_file_is_kept(tmp_path):
    conf = tmp_path / "placement.conf"
    conf.write_text(f"[oslo_policy]\npolicy_file = {tmp_path / 'x' / 'p.yaml'}\n")
    assert config.load([str(conf)], environ={}).policy_file == str(tmp_path / "x" / "p.yaml")
