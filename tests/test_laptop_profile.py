"""The laptop profile's promise: on its 5,000-image subset, Model A at the smallest M it
offers learns well above chance (the report: 35.1% at M=500 on all of CIFAR-10)."""
from __future__ import annotations

import pytest

from semisup_utils.book import notebook
from semisup_utils.data.dataset import subsample
from semisup_utils.study.recipes import get_recipe
from semisup_utils.study.runs import Context, Run, execute
from semisup_utils.study.store import ResultsStore

pytestmark = pytest.mark.slow


def test_model_a_at_the_laptop_profiles_smallest_m_is_well_above_chance(cifar_real, tmp_path):
    params = notebook.parameters({"profile": "laptop"})
    data = subsample(cifar_real, params["n_train"], params["n_test"], seed=0)
    m = min(params["M_list"])
    ctx = Context(store=ResultsStore(tmp_path / "results"), cache_dir=tmp_path / "cache",
                  device="cpu", progress=False)
    row = execute(data, Run(m, 0, get_recipe("A"), notebook.report_budget(params)), ctx)
    assert (m, params["epochs"]) == (500, 50)
    assert row["test_acc"] >= 0.25, f"Model A at M={m}: {100 * row['test_acc']:.1f}%"
