"""The allotment package's imports: no cycles, and the layers point one way.

Module-level imports (those that run when a module is first imported, not
the ones inside functions nor under ``if TYPE_CHECKING:``) form a graph that
must be acyclic: a cycle makes the import order decide which names exist.
Whatever the import's position, the store never imports the HTTP layer, and
the console never imports the store (it reads the public API only).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import allotment

PACKAGE = Path(allotment.__file__).parent
ROOT_NAME = "allotment"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if "migrations" not in path.relative_to(PACKAGE).parts[:-1]
}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (relative ones resolved)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The allotment modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        source = _absolute(module, node)
        # ``from package import submodule`` loads the submodule too.
        names = [source] + [f"{source}.{alias.name}" for alias in node.names]
    for name in names:
        if name in MODULES:
            yield name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run at import time: top level, and inside top-level
    ``try``/``if``/``with`` blocks (but not ``if TYPE_CHECKING:``)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _module_level(block)
            for handler in node.handlers:
                yield from _module_level(handler.body)
        elif isinstance(node, ast.With):
            yield from _module_level(node.body)


def _tree(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text(encoding="utf-8"), str(MODULES[module]))


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def module_level_graph() -> dict[str, set[str]]:
    """module -> the allotment modules it imports at import time. An import of
    the module's own package (``from allotment.client import errors`` inside
    ``allotment.client``) is no edge: Python runs a package before its modules."""
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        edges = graph.setdefault(module, set())
        for node in _module_level(_tree(module).body):
            edges.update(t for t in _targets(module, node) if not _in(module, t))
    return graph


def all_imports(module: str) -> set[str]:
    """Every allotment module ``module`` imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(_targets(module, node))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_package() -> None:
    graph = module_level_graph()
    assert "allotment.http.routes" in graph
    assert "allotment.http.routing" in graph["allotment.http.routes"]
    assert "allotment.store.engine" in graph["allotment.store.importer"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# Cycles known when this test was written, in modules its author could not
# change then; each is to be broken, and its entry removed, by the next change
# to those modules (the test fails when an entry no longer holds, too).
KNOWN_CYCLES: list[list[str]] = []


def test_module_level_imports_have_no_cycle() -> None:
    assert cycles(module_level_graph()) == KNOWN_CYCLES


def _imports_from_into(importer: str, imported: str) -> set[tuple[str, str]]:
    """(module, target) for every import, anywhere in a module of package
    ``importer``, of a module of package ``imported``."""
    return {
        (module, target)
        for module in MODULES
        if _in(module, importer)
        for target in all_imports(module)
        if _in(target, imported)
    }


def test_the_store_never_imports_the_http_layer() -> None:
    assert _imports_from_into("allotment.store", "allotment.http") == set()


def test_the_console_never_imports_the_store() -> None:
    assert _imports_from_into("allotment.console", "allotment.store") == set()


def test_the_direction_check_sees_imports() -> None:
    assert ("allotment.http.routes", "allotment.http.routing") in _imports_from_into(
        "allotment.http", "allotment.http"
    )
