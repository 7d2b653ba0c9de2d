#!/usr/bin/env python3
"""One-off: move semisup_utils' flat modules into sub-packages by layer (issue 33, item 4).

Run on a clean checkout of the merged main, then delete this file:

    python relayout.py .            # moves (git mv), rewrites, writes the __init__ files
    python relayout.py . --check    # dry run: what would move, and any unmapped module

It rewrites by module name, never by the contents it expects, so functions added since it was
written move with their module. It refuses to run twice (a layer folder exists) and refuses
a module it has no home for (add it to MAPPING). What it rewrites, in every tracked text file
but results/:

- ``semisup_utils.OLD`` (imports, ``python -m``, monkeypatch and mock strings, entry points)
  and ``semisup_utils/OLD.py`` (paths in docs and comments);
- relative imports inside the package (``from .x import y`` -> ``from ..layer.x import y``),
  and whole-module imports (``from semisup_utils import a, b`` -> one line per layer; a
  renamed module keeps its old name as an alias, so the code using it is unchanged);
- in Markdown, ``OLD.name`` inside backticks for the renamed modules (``runner.run`` ->
  ``chapters.run``), where ``name`` is defined in the module;
- the code cells' import lines of tests/nbval/*.ipynb and book/*.ipynb, and the dotted names
  in their markdown cells, as in the chapters (outputs untouched, JSON written as nbformat
  writes it; ``--keep-book`` leaves book/ as executed);
- docs/screenshots/manifest.json: the hash of a page whose screenshot was current and whose
  notebook changed in hidden code cells alone (the rest are named, to retake);
- ``Path(__file__)`` levels in the moved modules, globs of the package's ``*.py``, the
  package list in pyproject.toml, ``Where`` -> ``WorkerContext`` (code tokens only);
- docs/ARCHITECTURE.md: the section "The package's layers" inserted before "## One run".
"""
from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

PKG = "semisup_utils"

# Layers, lowest first: a module imports only from its own layer or a lower one
# (tests/test_package_layout.py checks it). cli stays at the top of the package.
LAYERS = {
    "base": "Plumbing every layer uses and that knows nothing of the study: the array cache, "
            "the torch device, progress bars.",
    "text": "How a page writes: Markdown built so that no stored string becomes markup, and "
            "numbers and sentences written one way.",
    "data": "The labelled images as arrays, and the known/unknown split.",
    "training": "The student: the CNNs, the one training loop, its objectives and its budget.",
    "teachers": "Where the unknown images' labels come from: embeddings, label inference, the "
                "teacher registry, the targets a teacher's probabilities become, and view "
                "banks.",
    "study": "Runs and their keys, the results store, executing grids, label and teacher "
             "runs, the statistics of stored runs, and the named profiles.",
    "book": "The chapters: their setup, tables, figures, findings, provenance, execution and "
            "nbval references.",
}

# old module -> (layer, new module name)
MAPPING = {
    "cache": ("base", "cache"),
    "device": ("base", "device"),
    "progress": ("base", "progress"),
    "markup": ("text", "markup"),
    "prose": ("text", "prose"),
    "data": ("data", "dataset"),
    "cnn": ("training", "cnn"),
    "train": ("training", "train"),
    "objectives": ("training", "objectives"),
    "budget": ("training", "budget"),
    "features": ("teachers", "features"),
    "labels": ("teachers", "label_inference"),
    "teachers": ("teachers", "teachers"),
    "targets": ("teachers", "targets"),
    "bank": ("teachers", "bank"),
    "schema": ("study", "schema"),
    "store": ("study", "store"),
    "recipes": ("study", "recipes"),
    "runs": ("study", "runs"),
    "executors": ("study", "executors"),
    "label_runs": ("study", "label_runs"),
    "teacher_eval": ("study", "teacher_eval"),
    "analysis": ("study", "analysis"),
    "profiles": ("study", "profiles"),
    "parameters": ("study", "parameters"),  # the parameter registry (issue 33 item 2)
    "notebook": ("book", "notebook"),
    "tables": ("book", "tables"),
    "plots": ("book", "plots"),
    "findings": ("book", "findings"),
    "ledger": ("book", "ledger"),
    "report": ("book", "original_report"),
    "runner": ("book", "chapters"),
    "references": ("book", "nbval_references"),
    "lab": ("book", "lab"),
}
TOP = {"__init__", "cli"}  # stay in semisup_utils/
NAME_RENAMES = {"Where": "WorkerContext"}  # identifiers, renamed in code tokens only

SKIP_DIRS = ("results/",)
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".cfg", ".txt", ".css", ".json",
                 ".ipynb", ".sh", ".ini", ""}


def new_dotted(old: str) -> str:
    layer, name = MAPPING[old]
    return f"{PKG}.{layer}.{name}"


def layer_of(module: str) -> str | None:
    """The layer of an old module name (None for the top: cli, __init__)."""
    return MAPPING[module][0] if module in MAPPING else None


# ----------------------------------------------------------------------------- imports
_OLD = "|".join(sorted(MAPPING, key=len, reverse=True))
DOTTED = re.compile(rf"\b{PKG}\.({_OLD})\b(?!\.py\b)")
PATH = re.compile(rf"\b{PKG}/({_OLD})\.py\b")
GLOB_PATTERN = re.compile(rf"\b{PKG}/\*\.py\b")
GLOB_CALL = re.compile(rf"""(["']{PKG}["']\)\s*)\.glob\(\s*(["'])\*\.py\2\s*\)""")
WHOLE = re.compile(r"^(?P<indent>[ \t]*)from[ \t]+(?P<mod>\.+|" + PKG + r")[ \t]+import[ \t]+"
                   r"(?:\((?P<paren>[^)]*)\)|(?P<plain>[^\n#()]*?))(?P<tail>[ \t]*#[^\n]*)?$",
                   re.M)
RELATIVE = re.compile(r"^(?P<head>[ \t]*from[ \t]+)(?P<dots>\.+)(?P<mod>\w+)(?P<rest>[\w.]*)"
                      r"(?=[ \t]+import\b)", re.M)


def _names(text: str) -> list[tuple[str, str | None]]:
    out = []
    for part in text.replace("\n", " ").split(","):
        part = part.strip()
        if part:
            name, _, alias = part.partition(" as ")
            out.append((name.strip(), alias.strip() or None))
    return out


def _from(here_layer: str | None, target_layer: str | None, absolute: bool) -> str:
    """The ``from`` part that reaches ``target_layer``'s package from a module of
    ``here_layer`` (None: the package's top)."""
    if absolute:
        return f"{PKG}.{target_layer}" if target_layer else PKG
    if here_layer is None:
        return f".{target_layer}" if target_layer else "."
    if target_layer == here_layer:
        return "."
    return f"..{target_layer}" if target_layer else ".."


def _statement(indent: str, source: str, names: list[str], tail: str, width: int = 72) -> str:
    line = f"{indent}from {source} import {', '.join(names)}"
    if len(line) + len(tail) <= width:
        return line + tail
    lines, current = [], f"{indent}from {source} import ("
    pad = " " * len(current)
    for i, name in enumerate(names):
        piece = name + ("," if i < len(names) - 1 else ")")
        if current.strip() and not current.endswith("(") and len(current) + 1 + len(piece) > width:
            lines.append(current.rstrip())
            current = pad + piece
        else:
            current += ("" if current.endswith("(") else " ") + piece
    lines.append(current + tail)
    return "\n".join(lines)


def rewrite_whole_module_imports(text: str, here: str | None, inside: bool,
                                 width: int = 72) -> str:
    """``from semisup_utils import a, b`` (and, inside the package, ``from . import a, b``):
    one statement per layer, renamed modules aliased to their old name."""

    def sub(match: re.Match) -> str:
        mod = match["mod"]
        if mod.startswith(".") and (not inside or mod != "."):
            return match[0]  # "from .. import" cannot occur in the flat package
        names = _names(match["paren"] if match["paren"] is not None else match["plain"])
        if not names or any(n not in MAPPING and n not in TOP for n, _ in names):
            if all(n not in MAPPING for n, _ in names):
                return match[0]
            unknown = [n for n, _ in names if n not in MAPPING and n not in TOP]
            raise SystemExit(f"cannot place {unknown} in: {match[0]!r}")
        groups: dict[str | None, list[str]] = {}
        for name, alias in names:
            layer = layer_of(name)
            new = MAPPING[name][1] if name in MAPPING else name
            shown = alias or (name if new != name else None)
            groups.setdefault(layer, []).append(f"{new} as {shown}" if shown and shown != new
                                                else new)
        absolute = mod == PKG
        out = []  # in the order isort keeps: by the module imported from
        for i, layer in enumerate(sorted(groups, key=lambda l: _from(here, l, absolute))):
            tail = (match["tail"] or "") if i == 0 else ""
            out.append(_statement(match["indent"], _from(here, layer, absolute),
                                  sorted(groups[layer]), tail, width))
        return "\n".join(out)

    text = WHOLE.sub(sub, text)
    return INLINE.sub(inline, text)


INLINE = re.compile(rf"\bfrom {PKG} import (\w+(?: as \w+)?(?:, \w+(?: as \w+)?)*)")


def inline(match: re.Match) -> str:
    """``from semisup_utils import x`` inside a string (a test's example source): one layer's
    modules only, as no line can be added there."""
    names = _names(match[1])
    layers = {layer_of(n) for n, _ in names if n in MAPPING}
    if not layers or len(layers) > 1 or any(n not in MAPPING for n, _ in names):
        if layers:
            print(f"warning: left as is: {match[0]!r}", file=sys.stderr)
        return match[0]
    shown = [f"{MAPPING[n][1]} as {a or n}" if (a or n) != MAPPING[n][1] else n
             for n, a in names]
    return f"from {PKG}.{layers.pop()} import {', '.join(shown)}"


def rewrite_relative_imports(text: str, here: str | None) -> str:
    """``from .x import y`` in a module of layer ``here`` -> ``from ..layer.x import y``."""

    def sub(match: re.Match) -> str:
        if match["dots"] != "." or (match["mod"] not in MAPPING and match["mod"] not in TOP):
            return match[0]
        target = layer_of(match["mod"])
        new = MAPPING[match["mod"]][1] if match["mod"] in MAPPING else match["mod"]
        base = _from(here, target, absolute=False)
        dotted = base + ("" if base.endswith(".") else ".") + new
        return match["head"] + dotted + match["rest"]

    return RELATIVE.sub(sub, text)


def rewrite_names(text: str) -> str:
    """Identifiers of NAME_RENAMES, in code tokens only (not in strings or comments)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text
    lines = text.splitlines(keepends=True)
    quoted = {q + old + q: q + new + q for old, new in NAME_RENAMES.items() for q in "\"'"}
    edits = [(t.start, t.end, NAME_RENAMES[t.string]) for t in tokens
             if t.type == tokenize.NAME and t.string in NAME_RENAMES]
    edits += [(t.start, t.end, quoted[t.string]) for t in tokens  # annotations: -> "Where"
              if t.type == tokenize.STRING and t.string in quoted]
    edits.sort()
    for (row, col), (_, end), new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[end:]
    return "".join(lines)


def rewrite_dotted(text: str) -> str:
    text = DOTTED.sub(lambda m: new_dotted(m[1]), text)
    text = PATH.sub(lambda m: f"{PKG}/{MAPPING[m[1]][0]}/{MAPPING[m[1]][1]}.py", text)
    text = GLOB_PATTERN.sub(f"{PKG}/**/*.py", text)
    return GLOB_CALL.sub(lambda m: f'{m[1]}.rglob("*.py")', text)


def rewrite_python(text: str, here_module: str | None = None, inside: bool = False,
                   width: int = 100) -> str:
    """A Python source (a module of the package when ``inside``: ``here_module`` its old
    name); an import line longer than ``width`` is wrapped (72: a chapter's code column)."""
    here = layer_of(here_module) if here_module else None
    # order matters: "data" and "teachers" are both old modules and new layers, so no step
    # may read what an earlier one wrote (dotted names, then relative, then whole modules)
    text = rewrite_dotted(text)
    if inside:
        text = rewrite_relative_imports(text, here)
    text = rewrite_whole_module_imports(text, here, inside, width)
    if inside and here is not None:
        text = rewrite_file_levels(text)
    return rewrite_names(wrap_imports(sort_import_runs(text), width))


PAREN_IMPORT = re.compile(rf"^(?P<indent>[ \t]*)from[ \t]+(?P<src>\.+[\w.]*|{PKG}[\w.]*)[ \t]+"
                          r"import[ \t]+\((?P<names>[^)#]*)\)(?P<tail>[ \t]*#[^\n]*)?$", re.M)


def wrap_imports(text: str, width: int) -> str:
    """Imports from the package with a line longer than ``width``, wrapped in parentheses."""

    def reflow(match: re.Match) -> str:
        if max(map(len, match[0].split("\n"))) <= width:
            return match[0]
        names = [n.strip() for n in match["names"].replace("\n", " ").split(",") if n.strip()]
        return _statement(match["indent"], match["src"], names, match["tail"] or "", width)

    text = PAREN_IMPORT.sub(reflow, text)
    out = []
    for line in text.split("\n"):
        match = ONE_LINE_IMPORT.match(line)
        if match and len(line) > width:
            body, hash_, comment = line.partition("#")
            names = [n.strip() for n in body.split(" import ", 1)[1].split(",") if n.strip()]
            tail = f"  #{comment}" if hash_ else ""
            line = _statement(match[1], match[2], names, tail, width)
        out.append(line)
    return "\n".join(out)


ONE_LINE_IMPORT = re.compile(rf"^([ \t]*)from[ \t]+(\.+[\w.]*|{PKG}[\w.]*)[ \t]+import[ \t]+"
                             r"[^()\n]*$")


def sort_import_runs(text: str) -> str:
    """Consecutive one-line imports from the package, at one indentation, in the order of the
    modules they import from (the new names no longer sort as the old ones did)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = ONE_LINE_IMPORT.match(lines[i])
        j = i + 1
        while match and j < len(lines) and (m := ONE_LINE_IMPORT.match(lines[j])) \
                and m[1] == match[1]:
            j += 1
        if j - i > 1:
            lines[i:j] = sorted(lines[i:j], key=lambda l: ONE_LINE_IMPORT.match(l)[2])
        i = j
    return "\n".join(lines)


def rewrite_file_levels(text: str) -> str:
    """A moved module sits one folder deeper: ``Path(__file__)...parent`` -> ``parents[1]``,
    ``parents[n]`` -> ``parents[n + 1]``."""
    text = re.sub(r"(Path\(__file__\)(?:\.resolve\(\))?)\.parents\[(\d+)\]",
                  lambda m: f"{m[1]}.parents[{int(m[2]) + 1}]", text)
    return re.sub(r"(Path\(__file__\)(?:\.resolve\(\))?)\.parent\b(?!s)",
                  lambda m: f"{m[1]}.parents[1]", text)


# ----------------------------------------------------------------------------- Markdown
def defined_names(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                if isinstance(target, ast.Name):
                    names.add(target.id)
    return names


def rewrite_markdown(text: str, defined: dict[str, set[str]]) -> str:
    """Inside backticks, ``old.name`` of a renamed module -> ``new.name`` (``name`` defined in
    it), and the bare module name of runner and references."""
    renamed = {old: new for old, (_, new) in MAPPING.items() if old != new}

    def span(match: re.Match) -> str:
        inner = match[1]
        for old, new in renamed.items():
            inner = re.sub(rf"(?<![\w./-]){old}\.(\w+)",
                           lambda m: f"{new}.{m[1]}" if m[1] in defined.get(old, ()) else m[0],
                           inner)
        if inner in ("runner", "references"):
            inner = renamed[inner]
        return f"`{inner}`"

    return re.sub(r"(?<!`)`([^`\n]+)`(?!`)", span, rewrite_dotted(text))


# ----------------------------------------------------------------------------- notebooks
def rewrite_notebook(text: str) -> str:
    nb = json.loads(text)
    changed = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") not in ("code", "markdown"):
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        # a markdown cell is a comment in the chapter's .py: only its dotted names change
        new = rewrite_python(source, width=72) if cell["cell_type"] == "code" \
            else rewrite_dotted(source)
        if new != source:
            cell["source"] = new.splitlines(keepends=True) if isinstance(cell["source"], list) \
                else new
            changed = True
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n" if changed else text


# ----------------------------------------------------------------------------- screenshots
HIDDEN = {"hide-input", "remove-input", "remove-cell"}


def only_hidden_code_changed(before: str, after: str) -> bool:
    """Whether a page's notebook changed in hidden code cells alone (what its screenshot shows
    is then unchanged)."""
    old, new = json.loads(before), json.loads(after)
    if len(old["cells"]) != len(new["cells"]):
        return False
    for a, b in zip(old["cells"], new["cells"]):
        if a == b:
            continue
        rest_a = {k: v for k, v in a.items() if k != "source"}
        rest_b = {k: v for k, v in b.items() if k != "source"}
        if rest_a != rest_b or b["cell_type"] != "code" or \
                not HIDDEN & set(b.get("metadata", {}).get("tags", [])):
            return False
    return True


def refresh_screenshot_hashes(root: Path, before: dict[str, str]) -> list[str]:
    """The manifest's hash of each book page whose screenshot was current and whose notebook
    changed in hidden code cells alone, recomputed (take.source_hash); the pages left to
    retake are returned."""
    import importlib.util

    manifest_path = root / "docs" / "screenshots" / "manifest.json"
    take_path = root / "docs" / "screenshots" / "take.py"
    if not manifest_path.exists() or not take_path.exists():
        return []
    spec = importlib.util.spec_from_file_location("take", take_path)
    take = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(take)
    except ImportError as error:
        print(f"note: screenshot hashes left as they were ({error})", file=sys.stderr)
        return sorted(before)
    manifest = json.loads(manifest_path.read_text())
    retake = []
    for rel, text in sorted(before.items()):
        path = root / rel
        entry = manifest.get("pages", {}).get(rel.removesuffix(".ipynb"))
        if entry is None:
            continue
        tmp = path.with_suffix(".before.ipynb")  # source_hash reads a file
        tmp.write_text(text)
        try:
            was_current = entry.get("sha256") == take.source_hash(tmp)
        finally:
            tmp.unlink()
        if was_current and only_hidden_code_changed(text, path.read_text()):
            entry["sha256"] = take.source_hash(path)
        else:
            retake.append(rel.removesuffix(".ipynb"))
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    return retake


# ----------------------------------------------------------------------------- pyproject
def rewrite_pyproject(text: str) -> str:
    packages = [PKG, *(f"{PKG}.{layer}" for layer in LAYERS)]
    listed = "".join(f'\n    "{p}",' for p in packages) + "\n"
    return re.sub(rf'^packages[ \t]*=[ \t]*\["{PKG}"\][ \t]*$', f"packages = [{listed}]", text,
                  flags=re.M)


ARCHITECTURE_SECTION = """## The package's layers

`semisup_utils` is seven sub-packages, one per layer, lowest first. A module imports from its
own layer or a lower one, never a higher one (`tests/test_package_layout.py` checks every
import, the lazy ones inside functions included, and that no module imports another that
imports it back):

| layer | its job | modules |
|---|---|---|
{rows}
| (top) | the `semisup` command | `cli` |

So a teacher knows nothing of runs, a run nothing of chapters, and the book reads the study
through the same functions the command does. `text` sits low because `analysis` writes its
verdicts as Markdown. Five modules were renamed to say what they hold: `chapters` (was
`runner`: executes the chapters into `book/`), `nbval_references` (was `references`: re-makes
the nbval references), `original_report` (was `report`: the original report's numbers),
`dataset` (was `data`) and `label_inference` (was `labels`: the label-inference methods,
beside `label_runs`, the stored runs of them). `WorkerContext` (was `executors.Where`) is what
a worker process rebuilds its `Context` from.

"""


def architecture_section(present: set[str]) -> str:
    rows = []
    for layer, job in LAYERS.items():
        mods = ", ".join(f"`{new}`" for old, (lay, new) in MAPPING.items()
                         if lay == layer and old in present)
        rows.append(f"| `{layer}` | {job} | {mods} |")
    return ARCHITECTURE_SECTION.format(rows="\n".join(rows))


def rewrite_architecture(text: str, defined: dict[str, set[str]]) -> str:
    text = rewrite_markdown(text, defined)
    if "## The package's layers" in text:
        return text
    section, marker = architecture_section(set(defined)), "## One run"
    if marker not in text:
        return text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    return text.replace(marker, section + marker, 1)


# ----------------------------------------------------------------------------- main
def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--check", action="store_true", help="say what would move; change nothing")
    parser.add_argument("--keep-book", action="store_true",
                        help="leave book/*.ipynb as executed (make book rewrites them)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    package = root / PKG
    done = [layer for layer in LAYERS if (package / layer).exists()]
    if done:
        print(f"refused: {PKG}/{done[0]}/ exists, the layout was already moved", file=sys.stderr)
        return 1
    modules = {p.stem for p in package.glob("*.py")}
    unmapped = sorted(modules - set(MAPPING) - TOP)
    if unmapped:
        print(f"refused: no layer for {', '.join(unmapped)}: add them to MAPPING",
              file=sys.stderr)
        return 2
    missing = sorted(set(MAPPING) - modules)
    if missing:
        print(f"note: mapped but absent (left out): {', '.join(missing)}", file=sys.stderr)
    moves = {old: MAPPING[old] for old in sorted(modules - TOP)}
    for old, (layer, new) in moves.items():
        print(f"{PKG}/{old}.py -> {PKG}/{layer}/{new}.py")
    if args.check:
        return 0

    defined = {old: defined_names(package / f"{old}.py") for old in moves}
    tracked = git(root, "ls-files", "-z").split("\0")
    book_before: dict[str, str] = {}
    for rel in filter(None, tracked):
        path = root / rel
        if args.keep_book and rel.startswith("book/") and path.suffix == ".ipynb":
            continue
        if rel.startswith(SKIP_DIRS) or not path.is_file() or rel == "relayout.py" \
                or path.suffix not in TEXT_SUFFIXES:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if rel.startswith(f"{PKG}/") and rel.count("/") == 1 and path.suffix == ".py":
            new = rewrite_python(text, path.stem, inside=True)
        elif path.suffix == ".py":
            new = rewrite_python(text, width=72 if rel.startswith("notebooks/") else 100)
        elif path.suffix == ".ipynb":
            new = rewrite_notebook(text)
        elif rel == "docs/ARCHITECTURE.md":
            new = rewrite_architecture(text, defined)
        elif path.suffix == ".md":
            new = rewrite_markdown(text, defined)
        elif rel == "pyproject.toml":
            new = rewrite_pyproject(rewrite_dotted(text))
        else:
            new = rewrite_dotted(text)
        if new != text:
            if rel.startswith("book/") and path.suffix == ".ipynb":
                book_before[rel] = text
            path.write_text(new)
            print(f"rewrote {rel}")
    retake = refresh_screenshot_hashes(root, book_before)

    for layer, job in LAYERS.items():
        (package / layer).mkdir()
        init = package / layer / "__init__.py"
        init.write_text(f'"""{job}"""\n')
        git(root, "add", str(init.relative_to(root)))
    for old, (layer, new) in moves.items():
        git(root, "mv", f"{PKG}/{old}.py", f"{PKG}/{layer}/{new}.py")
    left = [line for line in git(root, "grep", "-n", "__file__", "--", PKG).splitlines()]
    print("check these paths by hand (moved one folder deeper):", *left, sep="\n  ")
    if retake:
        print("screenshots to retake (a visible part of the page changed): make html && bash "
              f"docs/screenshots/take.sh {' '.join(retake)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
