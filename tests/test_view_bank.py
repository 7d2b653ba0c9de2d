"""Issue 34's consistent teaching: the student's augmentations as explicit view parameters
(draw, then render: the same outputs as before), a bank of the teacher's probabilities of K
seeded views per unknown image (cached view by view, prefix-stable in K), and a training whose
unknown images are seen as one of their views with that view's target."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from semisup_utils.data.dataset import CIFAR10, fingerprint_arrays, split_known
from semisup_utils.study import runs
from semisup_utils.study.recipes import RECIPES, Recipe
from semisup_utils.study.runs import Run, execute
from semisup_utils.teachers import bank as bank_mod
from semisup_utils.teachers import features
from semisup_utils.teachers.bank import StudentBank, view_bank, view_params, view_seed
from semisup_utils.teachers.label_inference import fit_method
from semisup_utils.teachers.targets import soften
from semisup_utils.teachers.teachers import view_features
from semisup_utils.training import train as train_mod
from semisup_utils.training.budget import Budget
from semisup_utils.training.train import (augment_batch, crop_cutout, draw_crop_cutout, draw_report,
                                 render_crop_cutout, render_report, train)


# ----------------------------------------------------------------------------- before
# augment_batch and crop_cutout as they were before they became draw + render (commit 2b1dbba),
# verbatim: every stored run was trained through these
def old_augment_batch(x, generator, flip=True, brightness=0.1, contrast=0.1,
                      rotate_degrees=2.0):
    n, device = x.shape[0], x.device

    def uniform(*shape):
        return torch.rand(*shape, generator=generator, device=device) * 2 - 1

    if flip:
        mask = torch.rand(n, 1, 1, 1, generator=generator, device=device) < 0.5
        x = torch.where(mask, x.flip(3), x)
    if rotate_degrees:
        angle = uniform(n) * math.radians(rotate_degrees)
        cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1),
                             torch.stack([sin, cos, zero], 1)], 1).to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                          align_corners=False)
    if brightness:
        x = x + uniform(n, 1, 1, 1) * brightness
    if contrast:
        mean = x.mean(dim=(2, 3), keepdim=True)
        x = (x - mean) * (1 + uniform(n, 1, 1, 1) * contrast) + mean
    return x.clamp_(0, 1)


def old_crop_cutout(x, generator, pad=4, cutout=8, fill=0.5):
    n, _, h, w = x.shape
    device = x.device
    flip = torch.rand(n, 1, 1, 1, generator=generator, device=device) < 0.5
    x = torch.where(flip, x.flip(3), x)
    if pad:
        padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        dy = torch.randint(0, 2 * pad + 1, (n, 1, 1), generator=generator, device=device)
        dx = torch.randint(0, 2 * pad + 1, (n, 1, 1), generator=generator, device=device)
        rows = dy + torch.arange(h, device=device).view(1, h, 1)
        cols = dx + torch.arange(w, device=device).view(1, 1, w)
        batch = torch.arange(n, device=device).view(n, 1, 1)
        x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if cutout:
        cy = torch.randint(0, h, (n, 1, 1), generator=generator, device=device)
        cx = torch.randint(0, w, (n, 1, 1), generator=generator, device=device)
        rows = torch.arange(h, device=device).view(1, h, 1) - cy
        cols = torch.arange(w, device=device).view(1, 1, w) - cx
        half = cutout // 2
        hole = (rows >= -half) & (rows < cutout - half) & (cols >= -half) & (cols < cutout - half)
        x = x.masked_fill(hole.unsqueeze(1), fill)
    return x.contiguous()


def floats(n=37, seed=0):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(100 + seed))


@pytest.mark.parametrize("options", [{}, {"flip": False}, {"rotate_degrees": 0},
                                     {"brightness": 0.4, "contrast": 0.4, "rotate_degrees": 0},
                                     {"flip": False, "brightness": 0, "contrast": 0,
                                      "rotate_degrees": 0}])
def test_augment_batch_is_bit_identical_to_before(options):
    for seed in range(4):
        x = floats(seed=seed)
        old_gen, new_gen = (torch.Generator().manual_seed(seed) for _ in range(2))
        assert torch.equal(old_augment_batch(x.clone(), old_gen, **options),
                           augment_batch(x.clone(), new_gen, **options))
        assert torch.equal(torch.rand(5, generator=old_gen), torch.rand(5, generator=new_gen))


@pytest.mark.parametrize("options", [{}, {"pad": 0}, {"cutout": 0},
                                     {"pad": 2, "cutout": 5, "fill": 0.0}])
def test_crop_cutout_is_bit_identical_to_before(options):
    for seed in range(4):
        for x in (floats(seed=seed), floats(seed=seed).to(torch.bfloat16)):
            old_gen, new_gen = (torch.Generator().manual_seed(seed) for _ in range(2))
            assert torch.equal(old_crop_cutout(x, old_gen, **options),
                               crop_cutout(x, new_gen, **options))
            assert torch.equal(torch.rand(5, generator=old_gen),
                               torch.rand(5, generator=new_gen))


def test_render_under_drawn_parameters_is_the_augmentation():
    """The parameters are the whole randomness: render(draw(g)) is augment(g), and a render
    of stored (numpy) parameters is the same."""
    x = floats(16)
    for draw, render, augment in ((draw_report, render_report, augment_batch),
                                  (draw_crop_cutout, render_crop_cutout, crop_cutout)):
        params = draw(16, torch.Generator().manual_seed(5))
        stored = {k: torch.as_tensor(v.numpy()) for k, v in params.items()}
        assert torch.equal(render(x.clone(), stored),
                           augment(x.clone(), torch.Generator().manual_seed(5)))
    report = draw_report(4000, torch.Generator().manual_seed(0))
    assert set(report) == {"flip", "angle", "shift", "factor"}
    assert 0.45 < report["flip"].float().mean() < 0.55
    assert report["angle"].abs().max() <= math.radians(2)
    assert report["shift"].abs().max() <= 0.1 and (report["factor"] - 1).abs().max() <= 0.1
    crop = draw_crop_cutout(4000, torch.Generator().manual_seed(0))
    assert crop["dy"].min() == 0 and crop["dy"].max() == 8 and crop["cx"].max() == 31


# ----------------------------------------------------------------------------- view parameters
def test_view_parameters_are_seeded_by_bank_seed_and_view_alone():
    for augment in ("report", "crop-cutout"):
        a = view_params(augment, 50, bank_seed=3, v=2)
        again = view_params(augment, 50, bank_seed=3, v=2)
        by_hand = (draw_report if augment == "report" else draw_crop_cutout)(
            50, torch.Generator().manual_seed(view_seed(3, 2)))
        for name in a:
            np.testing.assert_array_equal(a[name], again[name])
            np.testing.assert_array_equal(a[name], by_hand[name].numpy())
        other_view, other_seed = view_params(augment, 50, 3, 1), view_params(augment, 50, 4, 2)
        assert not np.array_equal(a["flip"], other_view["flip"])
        assert not np.array_equal(a["flip"], other_seed["flip"])


# ----------------------------------------------------------------------------- a tiny teacher
class TinyBackbone(nn.Module):
    """A backbone in microseconds: a fixed random 3x3 convolution, averaged over each 8x8
    block (64 features). The kernel is not mirror-symmetric, so a mirror does not merely
    permute the features (a classifier fitted on flip-averaged features is blind to a
    permutation), and a view moves them (on images of noise, by about a standard deviation)."""

    def __init__(self):
        super().__init__()
        self.kernel = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(0))

    def forward(self, x):
        return F.avg_pool2d(F.conv2d(x / 255, self.kernel, padding=1), 8).flatten(1)


@pytest.fixture
def tiny_backbone(monkeypatch):
    builds = []

    def build(size):
        builds.append(size)
        return TinyBackbone()

    monkeypatch.setitem(features.BACKBONES, "tiny",
                        features.Backbone("tiny", build, "raw", "a test backbone"))
    return builds


@pytest.fixture(scope="module")
def data64():
    """64 training images of uniform noise, labels 0..9 in turn (what a view changes shows)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (80, 32, 32, 3), dtype=np.uint8)
    y = np.arange(80) % 10
    return CIFAR10(x[:64], y[:64], x[64:], y[64:], source="noise",
                   fingerprint=fingerprint_arrays(x, y))


def tiny_recipe(**changes) -> Recipe:
    """A bank recipe on the tiny backbone (registered by the fixture ``tiny_backbone``)."""
    return Recipe("tiny-bank", **{"teacher": "logreg", "soft": True,
                                  "views": (("tiny", 32, "flip"),), "views_bank": 3, **changes})


def test_a_bank_probability_is_render_embed_classify_by_hand(data64, ctx, tiny_backbone):
    known, unknown = split_known(data64.y_train, 32, seed=1)
    recipe = tiny_recipe()
    bank = view_bank(recipe, data64, known, 1, ctx, augment="report", bank_seed=7)
    assert bank.proba.shape == (32, 3, 10) and bank.proba.dtype == np.float16
    np.testing.assert_array_equal(bank.rows, unknown)
    row, v = 5, 2
    i = unknown[row]
    # the view: image i under view v's parameters, drawn for every image in dataset order
    params = draw_report(64, torch.Generator().manual_seed(view_seed(7, v)))
    x = torch.from_numpy(data64.x_train[i:i + 1]).permute(0, 3, 1, 2).float() / 255
    view = render_report(x, {k: p[i:i + 1] for k, p in params.items()}) * 255
    # the teacher's features of it: mean of the view's and of its mirror's (a "flip" view)
    net = TinyBackbone()
    with torch.no_grad():
        feats = ((net(view) + net(view.flip(3))) / 2).numpy()
    # the teacher's classifier: fitted on the known images' features, as for fixed targets
    fit = fit_method("logreg", view_features(data64, recipe.views, 1, ctx), known,
                     data64.y_train[known], seed=1, n_classes=10)
    expected = fit.predict(feats)[0]
    np.testing.assert_allclose(bank.proba[row, v].astype(np.float32), expected, rtol=1e-2,
                               atol=1e-3)  # features and probabilities stored in float16
    with torch.no_grad():  # what the test tells apart: the mirror counts, and views differ
        assert not np.allclose(fit.predict(net(view).numpy())[0], expected, atol=1e-2)
    assert not np.allclose(bank.proba[row, 0], bank.proba[row, v], atol=1e-2)
    # and the stored parameters are the ones drawn
    for name, p in params.items():
        np.testing.assert_array_equal(bank.params[name][:, v], p.numpy()[unknown])


def test_a_bank_is_cached_view_by_view_and_prefix_stable(data64, ctx, tiny_backbone,
                                                         monkeypatch):
    computed = []
    original = bank_mod._compute_view
    monkeypatch.setattr(bank_mod, "_compute_view", lambda augment, data, rows, seed, v, *a: (
        computed.append(v), original(augment, data, rows, seed, v, *a))[1])
    known, _ = split_known(data64.y_train, 32, seed=0)
    recipe = tiny_recipe(views=(("tiny", 32),))
    two = view_bank(recipe, data64, known, 0, ctx, k=2, augment="crop-cutout")
    assert computed == [0, 1]
    builds = len(tiny_backbone)
    again = view_bank(recipe, data64, known, 0, ctx, k=2, augment="crop-cutout")
    assert computed == [0, 1] and len(tiny_backbone) == builds  # read back: nothing computed
    np.testing.assert_array_equal(again.proba, two.proba)
    four = view_bank(recipe, data64, known, 0, ctx, k=4, augment="crop-cutout")
    assert computed == [0, 1, 2, 3]  # K = 4 reuses K = 2's views and computes the others
    np.testing.assert_array_equal(four.proba[:, :2], two.proba)
    for name in two.params:
        np.testing.assert_array_equal(four.params[name][:, :2], two.params[name])
    # another known set (another M or seed): its own fit's probabilities, of the same
    # views' embeddings, which are not computed again (no backbone built)
    other, _ = split_known(data64.y_train, 40, seed=1)
    builds = len(tiny_backbone)
    view_bank(recipe, data64, other, 1, ctx, k=2, augment="crop-cutout")
    assert computed == [0, 1, 2, 3, 0, 1] and len(tiny_backbone) == builds
    computed[:] = [0, 1, 2, 3]
    # another augmentation, bank seed, known set or teacher: another bank
    view_bank(recipe, data64, known, 0, ctx, k=1, augment="report")
    view_bank(recipe, data64, known, 0, ctx, k=1, augment="crop-cutout", bank_seed=9)
    view_bank(replace(recipe, teacher="knn"), data64, known, 0, ctx, k=1, augment="crop-cutout")
    assert computed == [0, 1, 2, 3, 0, 0, 0]


# ----------------------------------------------------------------------------- training
def test_the_trainer_shows_bank_images_a_drawn_view_with_its_target(monkeypatch):
    """Positions of the bank see one of their K views, rendered from its parameters, with
    that view's target; the others their usual augmentation and their own labels."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 48)]
    k, member = 3, np.arange(48) % 2 == 0
    params = {name: np.stack([p for p in (view_params("report", 48, 0, v)[name]
                                          for v in range(k))], 1)
              for name in ("flip", "angle", "shift", "factor")}
    targets = rng.dirichlet(np.ones(10), (48, k)).astype(np.float32)
    bank = StudentBank("report", member, params, targets)
    seen = []
    original = train_mod._batch
    monkeypatch.setattr(train_mod, "_batch", lambda x_all, y_all, idx, *a: (
        seen.append((idx.clone(), *original(x_all, y_all, idx, *a))), seen[-1][1:])[1])
    train(x, labels, steps=6, batch_size=16, seed=0, device="cpu", progress=False, bank=bank)
    drawn = []
    for idx, xb, yb in seen:
        for j, p in enumerate(idx.tolist()):
            if not member[p]:
                np.testing.assert_array_equal(yb[j].numpy(), labels[p])
                continue
            v = [u for u in range(k) if np.array_equal(yb[j].numpy(), targets[p, u])]
            assert len(v) == 1, p
            raw = torch.from_numpy(x[p:p + 1]).permute(0, 3, 1, 2).float() / 255
            view = render_report(raw, {n: torch.as_tensor(q[p:p + 1, v[0]])
                                       for n, q in params.items()})
            assert torch.equal(xb[j:j + 1], view)
            drawn.append(v[0])
    assert set(drawn) == {0, 1, 2}  # every view gets drawn
    with pytest.raises(ValueError, match="soft"):
        train(x, labels.argmax(1), steps=1, device="cpu", progress=False, bank=bank)
    with pytest.raises(ValueError, match="positions"):
        train(x[:40], labels[:40], steps=1, device="cpu", progress=False, bank=bank)


def test_a_bank_run_trains_on_the_banks_targets_and_truth(data64, ctx, tiny_backbone,
                                                          monkeypatch):
    seen = []

    def spy(images, labels, weights=None, **kwargs):
        seen.append((labels, kwargs.get("bank")))
        return train(images, labels, weights, **kwargs)

    monkeypatch.setattr(runs, "train", spy)
    recipe = tiny_recipe(temperature=2.0, views_bank=2)
    budget = Budget.steps(2, batch_size=32, augment="crop-cutout")
    row = execute(data64, Run(32, 0, recipe, budget), ctx)
    assert row["key"]["recipe"]["views_bank"] == 2 and 0 <= row["bank_label_acc"] <= 1
    (labels, bank), = seen
    known, unknown = split_known(data64.y_train, 32, seed=0)
    expected = view_bank(recipe, data64, known, 0, ctx, augment="crop-cutout")
    assert bank.augment == "crop-cutout" and bank.k == 2
    np.testing.assert_array_equal(bank.member.numpy(), np.isin(np.arange(64), unknown))
    for v in range(2):  # each view's probabilities at the recipe's temperature
        np.testing.assert_array_equal(
            bank.targets(torch.as_tensor(unknown), torch.full((32,), v)).numpy(),
            soften(expected.proba[:, v].astype(np.float32), 2.0))
    np.testing.assert_array_equal(labels[known], np.eye(10)[data64.y_train[known]])
    assert execute(data64, Run(32, 0, recipe, budget), ctx) == row  # stored
    assert len(seen) == 1


# ----------------------------------------------------------------------------- recipes
def test_views_bank_enters_the_key_only_when_on_and_is_checked():
    base = RECIPES["lite0-224flip-cal-soft"]
    assert "views_bank" not in base.key()
    for k in (4, 8, 16):
        assert RECIPES[f"lite0-224flip-cal-soft-bank{k}"].key() == {**base.key(),
                                                                     "views_bank": k}
    soft = Recipe("x", teacher="logreg-cal", soft=True)
    for bad, match in ((dict(views_bank=-1), "whole number"), (dict(views_bank=2.0), "whole"),
                       (dict(views_bank=2, soft=False), "soft=True"),
                       (dict(views_bank=2, with_model_a=True), "with_model_a"),
                       (dict(views_bank=2, views=(("pca", 32),)), "PCA"),
                       (dict(views_bank=2, teacher="cnn"), "embedding teacher")):
        with pytest.raises(ValueError, match=match):
            replace(soft, **bad)
