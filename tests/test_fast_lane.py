"""`make test-fast` (``pytest -m "not slow"``) touches every module of the package: each one
imports, and each is imported by a test of the fast lane, except those ONLY_IMPORTED names.

Read from the test files' source (which tests carry ``@pytest.mark.slow`` or a module-level
``pytestmark``, and which ``semisup_utils`` modules they import), so this costs no collection run;
a module imported at the top of a test file counts for every fast test of that file."""
from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import semisup_utils

TESTS = Path(__file__).resolve().parent
PACKAGE = "semisup_utils"

# Modules no fast test imports: the fast lane only imports them (test_every_module_imports).
# Remove a name once a fast test exercises it; the last test fails while a listed one is covered.
ONLY_IMPORTED: dict[str, str] = {}


def modules() -> list[str]:
    """Every module and sub-package of the package, by dotted name."""
    found = [PACKAGE]
    for info in pkgutil.walk_packages(semisup_utils.__path__, PACKAGE + "."):
        found.append(info.name)
    return sorted(found)


def _is_slow(decorators) -> bool:
    """``@pytest.mark.slow`` (or ``pytest.mark.slow`` in a module's ``pytestmark`` list)."""
    return any("mark.slow" in ast.unparse(d) for d in decorators)


def _imported(node: ast.AST, known: set[str]) -> set[str]:
    """The package modules ``node`` imports anywhere inside it."""
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            names.update(a.name for a in sub.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(sub, ast.ImportFrom) and sub.level == 0 and sub.module and \
                sub.module.split(".")[0] == PACKAGE:
            names.add(sub.module)
            names.update(f"{sub.module}.{a.name}" for a in sub.names)
    # `import semisup_utils.a.b` runs semisup_utils and semisup_utils.a too
    parents = {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)}
    return (names | parents) & known


def fast_imports(source: str, known: set[str]) -> set[str]:
    """The package modules the fast tests of one test file import: nothing if the whole file
    is slow; else the file's top-level imports and those inside its fast tests."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "pytestmark" for t in node.targets) and \
                _is_slow([node.value]):
            return set()
    tests = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            if not _is_slow(node.decorator_list):
                tests += [f for f in node.body if isinstance(f, ast.FunctionDef)]
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            tests.append(node)
    fast = [t for t in tests if not _is_slow(t.decorator_list)]
    if not fast:
        return set()
    top = ast.Module(body=[n for n in tree.body
                           if not isinstance(n, (ast.FunctionDef, ast.ClassDef))],
                     type_ignores=[])
    # helpers and fixtures of the file (non-test functions) run for its tests
    helpers = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
               and n not in tests and not (isinstance(n, ast.ClassDef)
                                           and n.name.startswith("Test"))]
    found = _imported(top, known)
    for node in fast + helpers:
        found |= _imported(node, known)
    return found


def fast_lane_coverage() -> dict[str, set[str]]:
    """{module: the test files whose fast tests import it} (conftest.py counts: it always runs)."""
    known = set(modules())
    cover: dict[str, set[str]] = {m: set() for m in known}
    for path in sorted(TESTS.glob("test_*.py")) + [TESTS / "conftest.py"]:
        for module in fast_imports(path.read_text(), known):
            cover[module].add(path.name)
    return cover


def test_every_module_imports():
    for name in modules():
        importlib.import_module(name)


def test_the_reader_sees_slow_marks_and_imports():
    source = (
        "import pytest\n"
        "from semisup_utils.study import store\n"
        "@pytest.mark.slow\n"
        "def test_a():\n"
        "    from semisup_utils.data.dataset import load_cifar10\n"
        "def test_b():\n"
        "    import semisup_utils.study.runs\n")
    known = {"semisup_utils", "semisup_utils.study.store", "semisup_utils.data.dataset", "semisup_utils.study.runs"}
    assert fast_imports(source, known) == {"semisup_utils", "semisup_utils.study.store",
                                           "semisup_utils.study.runs"}
    assert fast_imports("import pytest\nfrom semisup_utils import store\n"
                        "pytestmark = pytest.mark.slow\ndef test_a():\n    pass\n", known) == set()


def test_every_module_is_imported_by_a_fast_test():
    cover = fast_lane_coverage()
    untested = sorted(m for m, files in cover.items() if not files and m not in ONLY_IMPORTED)
    assert not untested, (
        f"no test of `make test-fast` imports {untested}: add a fast test (a small one, no "
        "@pytest.mark.slow), or list the module in ONLY_IMPORTED saying why")
    covered = sorted(m for m in ONLY_IMPORTED if cover.get(m))
    assert not covered, f"{covered} are tested in the fast lane now: take them out of ONLY_IMPORTED"
