"""The package's architecture, checked: imports flow one way through the layers, never in a
cycle, and never hide inside a function (see the docstring of ``shiftlab/__init__.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "shiftlab"

#: the layers, bottom to top; a module may import its own subpackage or any layer below it
LAYERS: tuple[str, ...] = ("core", "data", "nn", "measure", "train", "studies", "viz", "tools")


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def shiftlab_imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(imported module, line, at top level)`` for every import of shiftlab in ``path``;
    ``from shiftlab.x import y`` counts as importing ``shiftlab.x.y`` when that is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    known = modules()
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                out.append(("<relative>", node.lineno, id(node) in top))
                continue
            if not (node.module or "").startswith("shiftlab"):
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.append((full if full in known else node.module, node.lineno, id(node) in top))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("shiftlab"):
                    out.append((alias.name, node.lineno, id(node) in top))
    return out


def layer_of(module: str) -> int | None:
    """Index of the module's layer in :data:`LAYERS`; None for the package root and
    ``__main__`` (the public API and the entry point sit above every layer)."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def test_every_module_is_in_a_layer():
    stray = [m for m in modules() if layer_of(m) is None and m not in ("shiftlab", "shiftlab.__main__")]
    assert not stray, f"modules outside the layers {LAYERS}: {stray}"


def test_imports_flow_down_the_layers():
    wrong = []
    for name, path in modules().items():
        own = layer_of(name)
        if own is None:
            continue
        for target, line, _ in shiftlab_imports(path):
            if target == "<relative>":
                wrong.append(f"{name}:{line} uses a relative import")
                continue
            other = layer_of(target)
            if other is None:
                wrong.append(f"{name}:{line} imports the package root ({target})")
            elif other > own:
                wrong.append(f"{name}:{line} ({LAYERS[own]}) imports {target} ({LAYERS[other]}), a higher layer")
    assert not wrong, "\n".join(wrong)


def test_no_hidden_imports():
    """shiftlab imports sit at the top of the module, where a reader (and this test) sees them."""
    hidden = [f"{name}:{line} imports {target} inside a function or block"
              for name, path in modules().items()
              for target, line, at_top in shiftlab_imports(path) if not at_top]
    assert not hidden, "\n".join(hidden)


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        deps = set()
        for target, _, _ in shiftlab_imports(path):
            # importing shiftlab.a.b also imports its packages shiftlab.a and shiftlab
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (cyc := visit(m)):
                return cyc
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (cyc := visit(n)):
            return cyc
    return None


def test_no_import_cycles():
    # the package roots only hold docstrings (shiftlab itself re-exports the public API and is
    # above every layer), so they are left out of the graph of module imports
    graph = {k: {d for d in v if layer_of(d) is not None and d.count(".") >= 2}
             for k, v in import_graph().items() if k.count(".") >= 2}
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_subpackage_roots_import_nothing():
    """``shiftlab.core`` ... ``shiftlab.tools`` are docstrings listing their modules; importing
    one of them must not drag in the others."""
    for layer in LAYERS:
        assert not shiftlab_imports(PKG / layer / "__init__.py"), layer


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
])
def test_find_cycle_finds_cycles(graph, expected):
    assert find_cycle(graph) == expected


def test_the_checks_catch_an_upward_import(tmp_path, monkeypatch):
    """The layer check is not vacuous: a measure module importing a study is reported."""
    fake = tmp_path / "shiftlab"
    (fake / "measure").mkdir(parents=True)
    (fake / "studies").mkdir()
    for p in (fake / "__init__.py", fake / "measure" / "__init__.py", fake / "studies" / "__init__.py"):
        p.write_text("")
    (fake / "studies" / "s.py").write_text("")
    (fake / "measure" / "m.py").write_text("def f():\n    from shiftlab.studies.s import x\n")
    monkeypatch.setattr(__import__(__name__), "PKG", fake)
    with pytest.raises(AssertionError, match="a higher layer"):
        test_imports_flow_down_the_layers()
    with pytest.raises(AssertionError, match="inside a function"):
        test_no_hidden_imports()
