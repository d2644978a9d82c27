"""No module of pixelzoo imports another in a circle, not even lazily inside a function.

Every module under pixelzoo/ is parsed with `ast` (nothing is imported); every `import` and
`from ... import` statement anywhere in it (module level, functions, `if TYPE_CHECKING:`) is an
edge to the pixelzoo module it names: `from a.b import c` names `a.b.c` if that is a module, else
`a.b`. The parents a dotted import runs implicitly (`pixelzoo/__init__.py` for
`import pixelzoo.x`) are not edges: they are not what the module asked for. A failure prints
each cycle as a chain of modules with the line of each import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pixelzoo

ROOT = Path(pixelzoo.__file__).resolve().parent


def modules(root: Path = ROOT) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return found


def import_graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """module -> {imported pixelzoo module: line of the first such import}."""
    mods = modules(root)

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_pkg) in mods.items():
        package = name if is_pkg else name.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: from the package, `level - 1` steps up
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module
                           for a in node.names]
            for target in targets:
                hit = known(target) if target.split(".")[0] == root.name else None
                if hit and hit != name:
                    edges.setdefault(hit, node.lineno)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (a closed chain of modules) per strongly connected group of modules: the
    shortest way round from the group's first module (breaking its first link breaks it)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found = []
    for group in groups:  # a shortest way round from the group's first module back to it
        members, start = set(group), group[0]
        paths, seen, chain = {start: [start]}, {start}, None
        frontier = [start]
        while frontier and chain is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w == start:
                        chain = paths[v] + [start]
                        break
                    if w in members and w not in seen:
                        seen.add(w)
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
                if chain:
                    break
            frontier = nxt
        found.append(chain or group)
    return found


def describe(chain: list[str], graph: dict[str, dict[str, int]]) -> str:
    return "\n  ".join(f"{a} (line {graph[a][b]}) -> {b}" for a, b in zip(chain, chain[1:]))


def strongly_connected(graph: dict[str, dict[str, int]], start: str) -> list[str]:
    """Every module that both reaches `start` and is reached from it: what the cycle joins."""
    def reach(edges: dict[str, set[str]]) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for w in edges.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    reverse: dict[str, set[str]] = {}
    for a, targets in graph.items():
        for b in targets:
            reverse.setdefault(b, set()).add(a)
    return sorted(reach({a: set(t) for a, t in graph.items()}) & reach(reverse))


def test_the_graph_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The parser itself: lazy, relative and `from package import module` imports are edges."""
    pkg = tmp_path / "pixelzoo"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("def f():\n    from pixelzoo.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from . import c\nimport os\n")
    (pkg / "sub" / "c.py").write_text("from .a import f\n")
    graph = import_graph(pkg)
    assert graph["pixelzoo.sub.a"] == {"pixelzoo.sub.b": 2}
    assert graph["pixelzoo.sub.b"] == {"pixelzoo.sub.c": 1}
    assert cycles(graph) == [["pixelzoo.sub.a", "pixelzoo.sub.b", "pixelzoo.sub.c",
                              "pixelzoo.sub.a"]]


def test_no_module_imports_another_in_a_circle() -> None:
    graph = import_graph()
    # the real package was parsed: its modules and a known edge are there
    assert len(graph) > 50 and "pixelzoo.models.reference" in graph["pixelzoo.models.rowrnn"]
    found = cycles(graph)
    assert not found, "import cycles in pixelzoo/:\n" + "\n".join(
        f"- {describe(chain, graph)}\n  (joining {', '.join(strongly_connected(graph, chain[0]))})"
        for chain in found)
