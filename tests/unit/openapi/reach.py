"""What errors a handler can raise, found by reading the code (for the completeness test).

Starting at the handler function, follow calls to functions of the same
module and of imported ``allotment`` modules (``rp_store.get(...)``,
``validate(...)``), and collect every ``raise exc.Something(...)`` and
``raise HTTPError(status, ..., code)``. Each becomes (status, code) through
the same domain table the dispatcher uses. Over-approximate by design: a
code path the analysis sees but the handler never takes still counts.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

from allotment import exceptions as exc
from allotment.http import error_codes, errors

Raised = set[tuple[int, str]]


@functools.cache
def _functions(module: ModuleType) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(inspect.getsource(module))
    return {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def _error_code(node: ast.expr | None) -> str:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return getattr(error_codes, node.attr, error_codes.UNDEFINED)
    return error_codes.UNDEFINED


def _raised(node: ast.Raise, module: ModuleType) -> Raised:
    call = node.exc
    if not isinstance(call, ast.Call):
        return set()
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name == "HTTPError" and call.args and isinstance(call.args[0], ast.Constant):
        code = call.args[2] if len(call.args) > 2 else None
        for keyword in call.keywords:
            if keyword.arg == "code":
                code = keyword.value
        return {(int(call.args[0].value), _error_code(code))}
    cls = getattr(exc, name, None)
    if isinstance(cls, type) and issubclass(cls, exc.PlacementError):
        error = errors.from_domain(cls("x"))
        return {(error.status, error.code)}
    return set()


def _target(call: ast.Call, module: ModuleType) -> tuple[ModuleType, str] | None:
    func = call.func
    if isinstance(func, ast.Name):
        value = getattr(module, func.id, None)
        if inspect.isfunction(value) and value.__module__.startswith("allotment"):
            return importlib.import_module(value.__module__), value.__name__
        return None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        value = getattr(module, func.value.id, None)
        if isinstance(value, ModuleType) and value.__name__.startswith("allotment"):
            return value, func.attr
    return None


@functools.cache
def reachable_errors(handler: Callable[..., Any]) -> Raised:
    start = (importlib.import_module(handler.__module__), handler.__name__)
    seen: set[tuple[str, str]] = set()
    pending = [start]
    found: Raised = set()
    while pending:
        module, name = pending.pop()
        if (module.__name__, name) in seen:
            continue
        seen.add((module.__name__, name))
        node = _functions(module).get(name)
        if node is None:
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.Raise):
                found |= _raised(child, module)
            elif isinstance(child, ast.Call):
                target = _target(child, module)
                if target is not None:
                    pending.append(target)
    return found


def reads_query(handler: Callable[..., Any]) -> bool:
    """Whether the handler (or a function of its module it calls) reads ``req.query``."""
    module = importlib.import_module(handler.__module__)
    pending, seen = [handler.__name__], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        node = _functions(module).get(name)
        for child in ast.walk(node) if node is not None else ():
            if isinstance(child, ast.Attribute) and child.attr == "query":
                return True
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name):
                pending.append(child.func.id)
    return False


def query_names(module: ModuleType) -> set[str]:
    """String constants a module reads as query parameters: ``single(q, "x")``,
    ``params.get("x")``, ``query.get("x")``, ``"x" in params``."""
    names = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = [a for a in node.args if isinstance(a, ast.Constant)]
            if called in ("single", "get") and args and isinstance(args[0].value, str):
                names.add(args[0].value)
    return names
