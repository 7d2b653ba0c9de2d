"""The package's shape: sub-packages by layer, imports going one way only (a module imports its
own layer or a lower one), and no module importing another that imports it back (at any
depth, lazy imports inside functions included), so every module can be read and tested on
its own."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "semisup_utils"
# lowest first (docs/ARCHITECTURE.md, "The package's layers"); "cli" sits above them all
LAYERS = ("base", "text", "data", "training", "teachers", "study", "book")


def module_name(path: Path) -> str:
    """``study.runs`` for semisup_utils/study/runs.py, ``study`` for its __init__.py."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))
            if "__pycache__" not in p.parts}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The package modules ``path`` imports, anywhere in the file (a ``from X import name``
    counts as importing ``X.name`` where that is a module)."""
    here = module_name(path).split(".") if module_name(path) else []
    package = here if path.name == "__init__.py" else here[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif (node.module or "").split(".")[0] == "semisup_utils":
                target = node.module.partition("semisup_utils")[2].lstrip(".")
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                names.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            names.update(a.name.partition("semisup_utils.")[2] for a in node.names
                         if a.name.startswith("semisup_utils."))
    return {n for n in names if n in known} - {module_name(path)}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) for name, path in found.items()}


def rank(module: str) -> int:
    """A module's layer, as its place in LAYERS (the package's top, cli, above them all)."""
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else len(LAYERS)


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module from a higher layer than its own."""
    return [f"{a} imports {b}" for a, targets in sorted(graph.items())
            for b in sorted(targets) if b and rank(b) > rank(a)]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def layered() -> bool:
    return any((PACKAGE / layer).is_dir() for layer in LAYERS)


def test_the_package_has_no_import_cycle():
    assert find_cycle(graph()) is None, " -> ".join(find_cycle(graph()))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.skipif(not layered(), reason="the package is not yet split into layers")
def test_every_module_sits_in_a_layer():
    """A module of its own beside cli, or a sub-package LAYERS does not order, would escape
    the direction test."""
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} \
        == set(LAYERS)
    assert {p.stem for p in PACKAGE.glob("*.py")} == {"__init__", "cli"}
    for layer in LAYERS:
        assert ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text())), layer


@pytest.mark.skipif(not layered(), reason="the package is not yet split into layers")
def test_imports_go_down_the_layers_only():
    assert upward(graph()) == []


def test_an_upward_import_is_found():
    assert upward({"teachers.bank": {"study.recipes", "training.train"},
                   "book.tables": {"study.analysis"}, "cli": {"book.notebook"}}) \
        == ["teachers.bank imports study.recipes"]


def test_relative_imports_resolve_to_modules(tmp_path, monkeypatch):
    """``from ..study.runs import x`` and ``from . import prose`` name the modules they read."""
    root = tmp_path / "semisup_utils"
    for rel, text in {"__init__.py": "", "cli.py": "from .book import notebook\n",
                      "book/__init__.py": "", "book/notebook.py":
                      "from ..study.runs import x\nfrom . import tables\n"
                      "def f():\n    from semisup_utils.text import prose\n",
                      "book/tables.py": "", "study/__init__.py": "", "study/runs.py": "",
                      "text/__init__.py": "", "text/prose.py": ""}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.setitem(globals(), "PACKAGE", root)
    assert graph()["book.notebook"] == {"study.runs", "book.tables", "text.prose"}
    assert graph()["cli"] == {"book.notebook"}


def test_one_run_path():
    """Training a model of the study goes through runs.execute alone: no other module calls
    train() (the benches and label inference aside)."""
    import re

    calls = re.compile(r"(?<![\w.])train\(|\.train\(")
    callers = {p.stem for p in PACKAGE.rglob("*.py")
               if calls.search(p.read_text()) and p.stem not in ("train", "runs")}
    assert callers == set(), callers
