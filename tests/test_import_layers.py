"""No import cycle in src/imagetwins, counting the imports inside functions too (they are cycles as well:
they only hide until the function runs), and cheap entry points."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "imagetwins"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside ``if TYPE_CHECKING:``: read by type checkers only, never imported when the program runs."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports_by_name(call: ast.Call) -> bool:
    """``importlib.import_module(...)`` or ``__import__(...)``."""
    func = ast.unparse(call.func)
    return bool(call.args) and (func.endswith("import_module") or func == "__import__")


def named_modules(tree: ast.AST, modules: dict[str, Path]) -> list[str]:
    """Every imagetwins module a source names in a string (``"imagetwins.encoders"``): what an import by a
    computed name (``import_module(_MOVED[name])``, a table of lazy names) may import."""
    return sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                   and n.value in modules})


def import_graph() -> dict[str, set[str]]:
    """Module -> the imagetwins modules it imports, anywhere in its source (module level, functions, methods).
    A fresh copy of the graph read once per test run (the sources do not change meanwhile; reading them took
    ~2 CPU s, and four tests ask).

    ``from package import name`` counts as importing ``package.name`` when that is a module, else
    ``package``; ``importlib.import_module("imagetwins....")`` with a constant name counts too, and one with
    a name computed at run time counts as importing every imagetwins module named in a string of that source
    (:func:`named_modules`), so a lazy alias cannot hide an edge.
    """
    return {name: set(edges) for name, edges in _read_import_graph().items()}


@functools.cache
def _read_import_graph() -> dict[str, frozenset[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            elif isinstance(node, ast.Call) and _imports_by_name(node):
                if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    targets = [node.args[0].value]
                else:  # a name computed at run time: any module the source names can be it
                    targets = named_modules(tree, modules)
            if not targets or _type_checking_only(node, parents):
                continue
            for t in targets:
                while t and t not in modules:  # imagetwins.search.Pairs -> imagetwins.search
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("imagetwins"):
                    graph[name].add(t)
    return {name: frozenset(edges) for name, edges in graph.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_imports_inside_functions() -> None:
    """The checker itself: a function-level import is an edge, a TYPE_CHECKING one is not."""
    graph = import_graph()
    assert "imagetwins.encoding" in graph["imagetwins.keep"]  # keep._decode imports it inside the function
    assert "imagetwins.pairscores" not in graph["imagetwins.keep"]  # only under TYPE_CHECKING there
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


#: edges allowed to close a cycle for one release only, with the release they go in: the deprecated alias
#: ``imagetwins.search.method_pairs`` / ``method_query`` (moved to the registry during 0.1.0, before its
#: release, so kept through 0.1.x) looks the method up in ``imagetwins.encoders`` by a computed name
DEPRECATED_EDGES = {("imagetwins.search", "imagetwins.encoders"): "0.2"}


def test_no_import_cycle_in_the_package() -> None:
    graph = import_graph()
    for (a, b) in DEPRECATED_EDGES:
        graph[a].discard(b)
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (imports inside functions included):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_the_checker_sees_imports_by_computed_name() -> None:
    """The deprecated alias in ``imagetwins.search`` imports the registry by a name computed at run time: the
    graph has that edge (it closes a 9-module cycle), and it is allowed only until the release that drops it."""
    from imagetwins import __version__

    graph = import_graph()
    assert "imagetwins.encoders" in graph["imagetwins.search"]
    assert "imagetwins.finder" in graph["imagetwins"]  # the front door's table of lazy verbs
    assert find_cycles(graph), "the alias's edge closes a cycle; without it DEPRECATED_EDGES can go"
    for (a, b), gone_in in DEPRECATED_EDGES.items():
        release = tuple(int(x) for x in __version__.split(".")[:2])
        assert release < tuple(int(x) for x in gone_in.split(".")), (
            f"{a} -> {b} was to go in {gone_in}: remove the alias and its DEPRECATED_EDGES entry")


def test_storage_only_stores() -> None:
    """The index keeps files, encodings and pair scores: it searches nothing itself (its ``find_duplicates`` and
    ``query`` hand the stored encodings to the engine, imagetwins.results) and knows nothing above it."""
    graph = import_graph()
    assert "imagetwins.search" not in graph["imagetwins.index"], graph["imagetwins.index"]
    above = {"imagetwins.finder", "imagetwins.session", "imagetwins.keep", "imagetwins.report", "imagetwins.cli"}
    assert not graph["imagetwins.index"] & above, graph["imagetwins.index"]


def test_old_search_wrappers_still_import_with_a_warning() -> None:
    """``imagetwins.search.method_pairs`` / ``method_query`` moved to the registry (imagetwins.encoders) so that
    the search package imports no method; the old names still work for one release, with a warning."""
    import numpy as np

    import imagetwins.search as search

    with pytest.warns(DeprecationWarning, match="moved to imagetwins.encoders.method_pairs"):
        method_pairs = search.method_pairs
    pairs = method_pairs(np.array([0, 1, 2**40 - 1], np.uint64), "phash", 3)
    assert (pairs.left.tolist(), pairs.right.tolist()) == ([0], [1])
    with pytest.raises(AttributeError):
        search.no_such_name  # noqa: B018


def test_the_front_door_is_cheap() -> None:
    """``import imagetwins`` loads none of the heavy parts: they come with the first verb used."""
    code = ("import sys, imagetwins; heavy = [m for m in ('numpy', 'PIL', 'onnxruntime', 'cv2', 'imagetwins.finder') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC), "PATH": ""})
    assert out.stdout.strip() == "", out.stdout
