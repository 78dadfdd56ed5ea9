"""The oslo.policy rule language: parse a check string once into a tree,
evaluate the tree per request.

``@`` (always), ``!`` (never), ``role:NAME``, ``rule:NAME``, ``KEY:VALUE``
comparing a credential (``project_id``, ``user_id``, ``system_scope``,
``is_admin``, dotted paths into nested credentials, ...) with a literal or a
``%(target_key)s`` substitution, ``'literal':%(target_key)s``, ``not``,
``and``, ``or`` (that precedence) and parentheses. An empty rule allows
everyone. Remote ``http:``/``https:`` checks are refused.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class RuleSyntaxError(ValueError):
    """A check string is not in the rule language."""


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
