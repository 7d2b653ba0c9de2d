"""A teacher's embedding cost: multiply-adds counted on the architecture, the chapter's
sentence about it computed from the choice."""
import matplotlib
import pandas as pd
import pytest

from semisup_utils.book import findings, plots
from semisup_utils.study import teacher_eval
from semisup_utils.teachers import features

matplotlib.use("Agg")


def test_embedding_macs_grow_with_pixels_and_backbone():
    small = features.embedding_macs("effnet-lite0", 32)
    large = features.embedding_macs("effnet-lite0", 64)
    assert 3.8 < large / small < 4.2  # a convnet's work grows with the pixels
    assert features.embedding_macs("effnet-lite2", 64) > large  # a wider, deeper network
    with pytest.raises(features.BackboneUnavailableError, match="multiply-add"):
        features.embedding_macs("keras-VGG16", 32)


def test_a_flip_view_costs_twice_and_a_concatenation_both(monkeypatch):
    monkeypatch.setattr(features, "embedding_macs", lambda b, s: s * (10 if b.endswith("2") else 1))
    assert teacher_eval.view_macs((("effnet-lite0", 32),)) == 32
    assert teacher_eval.view_macs((("effnet-lite0", 32, "flip"),)) == 64
    assert teacher_eval.view_macs((("effnet-lite0", 32, "flip"),
                                   ("effnet-lite2", 64, "flip"))) == 64 + 1280
    assert teacher_eval.view_macs((("pca", 32),)) == 0


def _choice():
    return pd.DataFrame({"M": [500, 500, 5000, 5000],
                         "teacher": ["lite0@32 logreg", "lite0@224 flip logreg"] * 2,
                         "val_acc": [0.30, 0.60, 0.40, 0.39],
                         "chosen": [False, True, True, False]})


def test_cost_story_says_what_the_choice_costs_and_buys(monkeypatch):
    monkeypatch.setattr(features, "embedding_macs", lambda b, s: s * s * 10_000)
    candidates = [("lite0@32 logreg", "logreg", (("effnet-lite0", 32),)),
                  ("lite0@224 flip logreg", "logreg", (("effnet-lite0", 224, "flip"),))]
    costs = findings.teacher_costs(_choice(), candidates)
    assert costs["gmacs"].round(4).tolist() == [0.0102, 1.0035, 0.0102, 1.0035]
    story = findings.cost_story(costs)
    assert story.startswith("At M = 500 the chosen teacher embeds an image with 1.00 billion")
    assert "98 times the cheapest candidate's, and scores 30.0 points above it" in story
    assert "at M = 5,000" in story and "as few as any candidate" in story
    same = costs.assign(chosen=[False, True, False, True], val_acc=[0.3, 0.6, 0.4, 0.5])
    assert findings.cost_story(same) == (
        "At every M the chosen teacher embeds an image with 1.00 billion multiply-adds, 98 "
        "times the cheapest candidate's, and scores 30.0 points above it at M = 500 and "
        "10.0 points above it at 5,000 on the held-out images")
    assert findings.cost_story(costs.assign(chosen=False)) == "no teacher was chosen"
    fig = plots.teacher_cost(costs, headline="lite0@32 logreg")
    assert [ax.get_xscale() for ax in fig.axes] == ["log", "log"]
    assert fig.axes[0].get_title() == "M = 500" and fig._suptitle.get_text()
