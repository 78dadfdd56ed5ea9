"""Authorization: upstream's policy names and defaults, the oslo.policy rule language.

Every API route names a policy (``allotment.http.routes``); ``Enforcer``
decides whether a caller's credentials satisfy the rule in effect for it.

Defaults are upstream's: API policies point at named base rules
(``rule:admin_or_service_api`` and friends), the secure-RBAC ("new")
defaults. With ``enforce_new_defaults = False`` each base rule that
upstream deprecated is OR'ed with its legacy ``role:admin`` check, as
oslo.policy does. With ``enforce_scope = True`` a request whose token scope
(system, domain or project) is not in the policy's ``scope_types`` is
refused before its rule is evaluated.

Operators override any rule, or add helper rules, in a YAML (or JSON)
policy file in upstream's format (``name: "check string"``). A file that
cannot be read, a rule that cannot be parsed, or a reference to a rule that
does not exist is refused when the application starts, naming the rule and
the line.

The rule language (oslo.policy's): ``@`` (always), ``!`` (never),
``role:NAME``, ``rule:NAME``, ``KEY:VALUE`` comparing a credential
(``project_id``, ``user_id``, ``system_scope``, ``is_admin``, dotted paths
into nested credentials, ...) with a literal or a ``%(target_key)s``
substitution, ``'literal':%(target_key)s``, ``not``, ``and``, ``or`` (that
precedence) and parentheses. An empty rule allows everyone.
"""

from __future__ import annotations

import ast
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from allotment.config import ConfigError

if TYPE_CHECKING:
    from allotment.config import Settings
    from allotment.http.auth import RequestContext

LOG = logging.getLogger(__name__)

DEFAULT_POLICY_FILE = "policy.yaml"
PROJECT_SCOPE = ("project",)
# Upstream deprecated the pre-Wallaby "admin for everything" rule; it is
# OR'ed back into the base rules when new defaults are not enforced.
LEGACY_CHECK = "role:admin"

ADMIN_OR_SERVICE = "rule:admin_or_service_api"
SERVICE = "rule:service_api"
ADMIN_OR_PROJECT_READER_OR_SERVICE = "rule:admin_or_project_reader_or_service_api"


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule: its default check string and documentation."""

    name: str
    default: str
    description: str
    scope_types: tuple[str, ...] = ()
    # The legacy check OR'ed in when enforce_new_defaults is False.
    deprecated: str | None = None


BASE_RULES: tuple[Rule, ...] = (
    Rule("admin_api", "role:admin", "Default rule for admin-only APIs.", PROJECT_SCOPE),
    Rule(
        "service_api",
        "role:service",
        "Default rule for service-to-service APIs.",
        PROJECT_SCOPE,
        LEGACY_CHECK,
    ),
    Rule(
        "admin_or_service_api",
        "role:admin or role:service",
        "Default rule for most placement APIs.",
        PROJECT_SCOPE,
        LEGACY_CHECK,
    ),
    Rule(
        "project_reader_api",
        "role:reader and project_id:%(project_id)s",
        "Default rule for project level reader APIs.",
        (),
        LEGACY_CHECK,
    ),
    Rule(
        "admin_or_project_reader_or_service_api",
        "role:admin or rule:project_reader_api or role:service",
        "Default rule for project level reader APIs.",
        PROJECT_SCOPE,
        LEGACY_CHECK,
    ),
)


def _api(name: str, description: str, default: str = ADMIN_OR_SERVICE) -> Rule:
    return Rule(name, default, description, PROJECT_SCOPE)


def _crud(prefix: str, verbs: tuple[str, ...], what: str) -> list[Rule]:
    return [_api(f"{prefix}:{verb}", f"{verb.capitalize()} {what}.") for verb in verbs]


API_RULES: tuple[Rule, ...] = (
    *_crud(
        "placement:resource_providers",
        ("list", "create", "show", "update", "delete"),
        "resource providers",
    ),
    *_crud(
        "placement:resource_providers:inventories",
        ("list", "create", "show", "update", "delete"),
        "resource provider inventories",
    ),
    *_crud(
        "placement:resource_providers:aggregates",
        ("list", "update"),
        "resource provider aggregates",
    ),
    _api("placement:resource_providers:usages", "List resource provider usages."),
    _api(
        "placement:usages",
        "List total resource usages for a given project.",
        ADMIN_OR_PROJECT_READER_OR_SERVICE,
    ),
    *_crud(
        "placement:resource_providers:traits",
        ("list", "update", "delete"),
        "resource provider traits",
    ),
    *_crud("placement:traits", ("list", "show", "update", "delete"), "traits"),
    *_crud(
        "placement:resource_classes",
        ("list", "create", "show", "update", "delete"),
        "resource classes",
    ),
    _api("placement:allocations:list", "List allocations of a consumer."),
    _api("placement:allocations:update", "Update allocations of a consumer."),
    _api("placement:allocations:delete", "Delete allocations of a consumer."),
    _api("placement:allocations:manage", "Manage allocations of several consumers."),
    _api(
        "placement:resource_providers:allocations:list",
        "List allocations against a resource provider.",
    ),
    _api("placement:allocation_candidates:list", "List allocation candidates."),
    _api(
        "placement:allocation_candidates:explain",
        "Explain an allocation candidates query (allotment extension, not upstream).",
        "rule:admin_api",
    ),
    _api(
        "placement:reshaper:reshape",
        "Reshape inventories and allocations of several providers atomically.",
        SERVICE,
    ),
)
RULES: tuple[Rule, ...] = BASE_RULES + API_RULES
RULES_BY_NAME: Mapping[str, Rule] = {rule.name: rule for rule in RULES}


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


class RuleSyntaxError(ValueError):
    """A check string is not in the rule language."""


# --------------------------------------------------------------------------
# The rule language: parse once into a tree, evaluate per request.

Creds = Mapping[str, Any]
Target = Mapping[str, Any]
Rules = Mapping[str, "Node"]


class Node:
    """A parsed check string."""

    def evaluate(self, creds: Creds, target: Target, rules: Rules) -> bool:
        raise NotImplementedError

    def references(self) -> Iterator[str]:
        """Names of the rules this check refers to with ``rule:``."""
        return iter(())


@dataclass(frozen=True, slots=True)
class Constant(Node):
    value: bool

    def evaluate(self, creds: Creds, target: Target, rules: Rules) -> bool:
        return self.value


def _substitute(match: str, target: Target) -> str | None:
    """``%(key)s`` substitutions from the target; None when a key is missing."""
    if "%(" not in match:
        return match
    try:
        return match % target
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class RoleCheck(Node):
    match: str

    def evaluate(self, creds: Creds, target: Target, rules: Rules) -> bool:
        wanted = _substitute(self.match, target)
        if wanted is None:
            return False
        roles = creds.get("roles") or ()
        if isinstance(roles, frozenset):  # RequestContext's roles are already lower case
            return wanted.lower() in roles
        return wanted.lower() in {str(role).lower() for role in roles}


@dataclass(frozen=True, slots=True)
class RuleCheck(Node):
    name: str

    def evaluate(self, creds: Creds, target: Target, rules: Rules) -> bool:
        rule = rules.get(self.name)
        return rule is not None and rule.evaluate(creds, target, rules)

    def references(self) -> Iterator[str]:
        yield self.name


def _literal(kind: str) -> tuple[bool, Any]:
    """Whether the left side of a check is a Python literal (``'x'``, ``True``)."""
    try:
        return True, ast.literal_eval(kind)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def _found_in(value: Any, path: list[str], match: str) -> bool:
    """oslo.policy's walk: dotted path into credentials, lists match any element."""
    if not path:
        return match == str(value)
    if not isinstance(value, Mapping) or path[0] not in value:
        return False
    value = value[path[0]]
    if isinstance(value, list | tuple | set | frozenset):
        return any(_found_in(item, path[1:], match) for item in value)
    return _found_in(value, path[1:], match)


@dataclass(frozen=True, slots=True)
class GenericCheck(Node):
    kind: str
    match: str
    # Decided once at parse time: is ``kind`` a literal, and which one.
    is_literal: bool = False
    literal: Any = None

    def evaluate(self, creds: Creds, target: Target, rules: Rules) -> bool:
        wanted = _substitute(self.match, target)
        if wanted is None:
            return False
        if self.is_literal:
            return wanted == str(self.literal)
        return _found_in(creds, self.kind.split("."), wanted)


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def evaluate(self, creds: Creds, target: Target, rules: Rules) -> bool:
        return not self.operand.evaluate(creds, target, rules)

    def references(self) -> Iterator[str]:
        return self.operand.references()


@dataclass(frozen=True, slots=True)
class And(Node):
    operands: tuple[Node, ...]

    def evaluate(self, creds: Creds, target: Target, rules: Rules) -> bool:
        return all(node.evaluate(creds, target, rules) for node in self.operands)

    def references(self) -> Iterator[str]:
        for node in self.operands:
            yield from node.references()


@dataclass(frozen=True, slots=True)
class Or(Node):
    operands: tuple[Node, ...]

    def evaluate(self, creds: Creds, target: Target, rules: Rules) -> bool:
        return any(node.evaluate(creds, target, rules) for node in self.operands)

    def references(self) -> Iterator[str]:
        for node in self.operands:
            yield from node.references()


KEYWORDS = ("and", "or", "not")
UNSUPPORTED_KINDS = ("http", "https")


def _tokens(text: str) -> list[str]:
    """Split like oslo.policy: whitespace, then leading ``(`` / trailing ``)``."""
    out: list[str] = []
    for word in text.split():
        stripped = word.lstrip("(")
        out.extend("(" * (len(word) - len(stripped)))
        core = stripped.rstrip(")")
        if core:
            out.append(core.lower() if core.lower() in KEYWORDS else core)
        out.extend(")" * (len(stripped) - len(core)))
    return out


def _check(token: str) -> Node:
    if token == "@":
        return Constant(True)
    if token == "!":
        return Constant(False)
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        raise RuleSyntaxError(f"unexpected quoted string {token}")
    kind, sep, match = token.partition(":")
    if not sep or not kind:
        raise RuleSyntaxError(f"{token!r} is not a check (expected KIND:VALUE, @ or !)")
    if kind == "role":
        return RoleCheck(match)
    if kind == "rule":
        return RuleCheck(match)
    if kind in UNSUPPORTED_KINDS:
        raise RuleSyntaxError(f"remote {kind}: checks are not supported")
    return GenericCheck(kind, match, *_literal(kind))


class _Parser:
    """or_expr := and_expr ('or' and_expr)*; and_expr := unary ('and' unary)*;
    unary := 'not' unary | '(' or_expr ')' | check."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> Node:
        node = self.or_expr()
        if self.pos < len(self.tokens):
            raise RuleSyntaxError(f"unexpected {self.tokens[self.pos]!r}")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            raise RuleSyntaxError("unexpected end of rule")
        self.pos += 1
        return token

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self._peek() == "or":
            self.pos += 1
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.unary()]
        while self._peek() == "and":
            self.pos += 1
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        token = self._next()
        if token == "not":
            return Not(self.unary())
        if token == "(":
            node = self.or_expr()
            if self._next() != ")":
                raise RuleSyntaxError("missing ')'")
            return node
        if token in ("and", "or", ")"):
            raise RuleSyntaxError(f"unexpected {token!r}")
        return _check(token)


def parse_rule(rule: Any) -> Node:
    """Parse a check string (or oslo's legacy list-of-lists form) into a tree."""
    if isinstance(rule, list):
        return _parse_list_rule(rule)
    if not isinstance(rule, str):
        raise RuleSyntaxError(f"a rule must be a string, not {type(rule).__name__}")
    tokens = _tokens(rule)
    if not tokens:
        return Constant(True)  # "" allows everyone, as in oslo.policy
    return _Parser(tokens).parse()


def _parse_list_rule(rule: list[Any]) -> Node:
    """``[["a", "b"], ["c"]]`` means ``(a and b) or c``; ``[]`` allows everyone."""
    if not rule:
        return Constant(True)
    alternatives: list[Node] = []
    for inner in rule:
        items = inner if isinstance(inner, list) else [inner]
        if not items or not all(isinstance(item, str) for item in items):
            raise RuleSyntaxError("list rules must be lists of check strings")
        checks = tuple(_check(item) for item in items)
        alternatives.append(checks[0] if len(checks) == 1 else And(checks))
    return alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives))


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
