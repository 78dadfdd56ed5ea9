"""Authorization: the policy in effect for each route, and who may pass it.

Every API route names a policy (``allotment.http.routes``); ``Enforcer``
decides whether a caller's credentials satisfy the rule in effect for it.

Defaults are upstream's (``allotment.http.policy_defaults``): API policies
point at named base rules (``rule:admin_or_service_api`` and friends), the
secure-RBAC ("new") defaults. With ``enforce_new_defaults = False`` each base
rule that upstream deprecated is OR'ed with its legacy ``role:admin`` check,
as oslo.policy does. With ``enforce_scope = True`` a request whose token scope
(system, domain or project) is not in the policy's ``scope_types`` is refused
before its rule is evaluated.

Operators override any rule, or add helper rules, in a YAML (or JSON)
policy file in upstream's format (``name: "check string"``), written in the
oslo.policy rule language (``allotment.http.policy_language``). A file that
cannot be read, a rule that cannot be parsed, or a reference to a rule that
does not exist is refused when the application starts, naming the rule and
the line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from allotment.config import ConfigError
from allotment.http.policy_defaults import API_RULES as API_RULES
from allotment.http.policy_defaults import BASE_RULES as BASE_RULES
from allotment.http.policy_defaults import RULES, RULES_BY_NAME, Rule
from allotment.http.policy_language import Creds, Node, Or, Target
from allotment.http.policy_language import RuleSyntaxError as RuleSyntaxError
from allotment.http.policy_language import parse_rule as parse_rule

if TYPE_CHECKING:
    from allotment.config import Settings
    from allotment.http.auth import RequestContext

LOG = logging.getLogger(__name__)

DEFAULT_POLICY_FILE = "policy.yaml"


class PolicyDenied(Exception):
    """The caller may not perform the action (rendered as a 403)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Policy does not allow {name} to be performed.")
        self.name = name


class InvalidScope(PolicyDenied):
    """The token's scope is not one the policy accepts (also a 403, as upstream)."""

    def __init__(self, name: str, token_scope: str, scope_types: tuple[str, ...]) -> None:
        super().__init__(name)
        self.token_scope = token_scope
        self.scope_types = scope_types


class PolicyFileError(ConfigError):
    """The policy file, or a rule in it, cannot be used."""


# --------------------------------------------------------------------------
# Policy files.


@dataclass(frozen=True, slots=True)
class Override:
    """One rule from the policy file, with where it was written."""

    name: str
    text: Any
    line: int


def read_policy_file(path: Path) -> list[Override]:
    """The rules in a YAML or JSON policy file, in file order."""
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyFileError(f"policy file {path}: cannot read: {error.strerror}") from None
    try:
        document = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise PolicyFileError(f"policy file {path}: not valid YAML or JSON: {error}") from None
    if document is None:
        return []
    if not isinstance(document, yaml.MappingNode):
        raise PolicyFileError(f"policy file {path}: expected a mapping of rule names to rules")
    loader = yaml.SafeLoader("")
    overrides: list[Override] = []
    for key_node, value_node in document.value:
        line = key_node.start_mark.line + 1
        name = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        if not isinstance(name, str):
            raise PolicyFileError(f"policy file {path}, line {line}: rule name must be a string")
        overrides.append(Override(name, value, line))
    return overrides


def resolve_policy_file(settings: Settings) -> Path | None:
    """The policy file to read, or None for defaults only.

    A missing file named ``policy.yaml`` (upstream's default name, usually
    absent) means "defaults only"; any other configured file must exist.
    """
    if settings.policy_file is None:
        return None
    path = Path(os.path.expanduser(settings.policy_file))
    if path.is_file():
        return path
    if path.name == DEFAULT_POLICY_FILE:
        LOG.info("no policy file at %s: using the default rules", path)
        return None
    raise PolicyFileError(f"policy file {path} does not exist")


POLICY_DIR_SUFFIXES = (".yaml", ".yml", ".json")


def policy_dir_files(settings: Settings) -> list[Path]:
    """The files of ``[oslo_policy] policy_dirs`` (missing directories are
    skipped, as oslo.policy does), each directory's files in name order."""
    found: list[Path] = []
    for directory in settings.policy_dirs:
        path = Path(os.path.expanduser(directory))
        if path.is_dir():
            found += sorted(
                p for p in path.iterdir() if p.suffix in POLICY_DIR_SUFFIXES and p.is_file()
            )
    return found


# --------------------------------------------------------------------------
# The enforcer.


@dataclass(frozen=True, slots=True)
class Effective:
    """The rule in effect for a name, and where it came from."""

    name: str
    text: str
    source: str  # "default", "default+legacy" or "policy file <path>, line <n>"
    registered: Rule | None


def _describe(text: Any) -> str:
    return text if isinstance(text, str) else repr(text)


class Enforcer:
    """Decides whether a request context may perform a named action."""

    def __init__(
        self,
        enforce_new_defaults: bool = True,
        enforce_scope: bool = True,
        overrides: list[Override] | None = None,
        source: str = "policy file",
    ) -> None:
        self.enforce_new_defaults = enforce_new_defaults
        self.enforce_scope = enforce_scope
        self.effective: dict[str, Effective] = {}
        self.compiled: dict[str, Node] = {}
        for rule in RULES:
            self._add_default(rule)
        for override in overrides or ():
            self._add_override(override, source)
        self._check_references(source)

    @classmethod
    def from_settings(cls, settings: Settings) -> Enforcer:
        """The enforcer for the defaults, the policy file, then each file of the
        policy directories (in name order), as oslo.policy layers them."""
        path = resolve_policy_file(settings)
        overrides = read_policy_file(path) if path else []
        enforcer = cls(
            settings.enforce_new_defaults, settings.enforce_scope, overrides, f"policy file {path}"
        )
        extra = policy_dir_files(settings)
        for extra_path in extra:
            for override in read_policy_file(extra_path):
                enforcer._add_override(override, f"policy file {extra_path}")
        if extra:
            enforcer._check_references("policy directories")
        return enforcer

    def _add_default(self, rule: Rule) -> None:
        node = parse_rule(rule.default)
        text, source = rule.default, "default"
        if rule.deprecated and not self.enforce_new_defaults:
            node = Or((node, parse_rule(rule.deprecated)))
            text, source = f"({rule.default}) or ({rule.deprecated})", "default+legacy"
        self.compiled[rule.name] = node
        self.effective[rule.name] = Effective(rule.name, text, source, rule)

    def _add_override(self, override: Override, source: str) -> None:
        where = f"{source}, line {override.line}"
        try:
            node = parse_rule(override.text)
        except RuleSyntaxError as error:
            raise PolicyFileError(
                f"{where}: rule {override.name!r}: cannot parse {_describe(override.text)!r}: "
                f"{error}"
            ) from None
        self.compiled[override.name] = node
        self.effective[override.name] = Effective(
            override.name,
            _describe(override.text),
            where,
            RULES_BY_NAME.get(override.name),
        )

    def _check_references(self, source: str) -> None:
        """Every ``rule:X`` names a rule, and no rule refers to itself through others."""
        for name, node in self.compiled.items():
            for ref in node.references():
                if ref not in self.compiled:
                    origin = self.effective[name].source
                    raise PolicyFileError(f"{origin}: rule {name!r} refers to unknown rule {ref!r}")
        checked: set[str] = set()
        for name in self.compiled:
            self._check_cycle(name, [], checked)

    def _check_cycle(self, name: str, path: list[str], checked: set[str]) -> None:
        if name in path:
            loop = " -> ".join([*path[path.index(name) :], name])
            raise PolicyFileError(f"{self.effective[name].source}: rules refer in a loop: {loop}")
        if name in checked:
            return
        for ref in self.compiled[name].references():
            self._check_cycle(ref, [*path, name], checked)
        checked.add(name)

    def rule_text(self, name: str) -> str:
        return self.effective[name].text

    def _scope_ok(self, name: str, creds: Creds) -> tuple[bool, str]:
        rule = RULES_BY_NAME.get(name)
        if not self.enforce_scope or rule is None or not rule.scope_types:
            return True, ""
        if creds.get("system_scope"):
            token_scope = "system"
        elif creds.get("domain_id") and not creds.get("project_id"):
            token_scope = "domain"
        else:
            token_scope = "project"
        return token_scope in rule.scope_types, token_scope

    def allowed(self, name: str, context: RequestContext, target: Target) -> bool:
        try:
            self.authorize(name, context, target)
        except PolicyDenied:
            return False
        return True

    def authorize(self, name: str, context: RequestContext, target: Target) -> None:
        """Raise PolicyDenied (or InvalidScope) unless the context may do ``name``."""
        creds = context.policy_credentials()
        scope_ok, token_scope = self._scope_ok(name, creds)
        if not scope_ok:
            rule = RULES_BY_NAME[name]
            raise InvalidScope(name, token_scope, rule.scope_types)
        node = self.compiled.get(name)
        if node is None:
            raise KeyError(f"policy {name} is not registered")
        if not node.evaluate(creds, target, self.compiled):
            raise PolicyDenied(name)

    def rules(self) -> list[Effective]:
        """Every rule in effect: registered ones first, in order, then the file's own."""
        registered = [self.effective[rule.name] for rule in RULES]
        extra = [e for name, e in self.effective.items() if name not in RULES_BY_NAME]
        return registered + extra
