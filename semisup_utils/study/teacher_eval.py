"""How good a teacher is before any CNN learns from it: its accuracy on the unknown images (what
the student is taught), on the test images (what the student is compared with: the cost of
compressing a pretrained network into the report's small CNN), the calibration of its
confidences (soft targets and thresholds rely on them) and what it costs.

The teacher is fit once on the known images' features; the test images are labelled by the
same fitted model (``InferredLabels.predict``), never fit on. With ``validation`` a share of
the known images is held out of the fit (:func:`data.validation_split`) and scored too, so a
teacher or a hyperparameter can be chosen without the test set: :func:`candidate_teachers`
lists the teachers a study compares, :func:`teacher_study` scores them (stored rows, through
:func:`held_out_run`) and :func:`choose_teacher` picks one per M by validation accuracy
alone (:func:`teacher_choices`: among every fit, and among the fits at C=1 alone).
"""
from __future__ import annotations

import pandas as pd

from ..teachers.teachers import view_name
from .recipes import get_recipe

# the lighter of the extra backbones first: the study's cheapest views come first
EXTRA_BACKBONES = ("effnet-lite1", "effnet-lite2")


def evaluate_teacher(data, recipe, m: int, seed: int, ctx, engine: str | None = None,
                     validation: float | int | None = None, model_a=None) -> dict:
    """One teacher at one (M, seed), scored by :func:`label_runs.score_teacher` (the one
    fit-and-score path): ``label_acc``/``label_ece`` on the unknown images,
    ``test_acc``/``test_ece`` on the test images, ``val_acc``/``val_ece`` on the held-out known
    images when ``validation`` is given, ``fit_s`` and ``embed_s``. ``recipe``: a recipe or its
    name; only its teacher, views and Model A averaging matter (``model_a``: Model A's
    network, for a recipe that averages with it)."""
    from .label_runs import score_teacher

    recipe = get_recipe(recipe)
    if recipe.with_model_a and model_a is None:  # refused before any work
        raise ValueError(f"recipe {recipe.name!r} averages with Model A: give model_a= "
                         "(runs.model_a_network)")
    scores = score_teacher(data, recipe.teacher, recipe.views, m, seed, ctx,
                           validation=validation, engine=engine,
                           model_a=model_a if recipe.with_model_a else None)
    return {"recipe": recipe.name, "teacher": recipe.teacher,
            "views": [list(v) for v in recipe.views], "m": int(m), "seed": int(seed), **scores}


def view_macs(views) -> int:
    """Multiply-adds per image to embed ``views`` (a flip view embeds the image and its
    mirror; PCA costs next to nothing and counts 0): what a teacher costs before its fit."""
    from ..teachers.features import embedding_macs

    return sum(embedding_macs(b, int(s)) * (2 if rest else 1)
               for b, s, *rest in views if b != "pca")


def candidate_teachers(sizes, methods, large_size: int, backbones=(),
                       concat_methods=("logreg-cal",)) -> list[tuple[str, str, tuple]]:
    """(name, method, views) of every teacher a study compares, the cheapest views first:
    EfficientNet-Lite0 at each input size of ``sizes``, without and with flip test-time
    augmentation, fitted by each method of ``methods``; then each backbone of ``backbones``
    (e.g. :data:`EXTRA_BACKBONES`, where installed) at ``large_size`` with flip, and the
    concatenations (Lite0 at ``large_size`` and at the smallest of ``sizes``; Lite0 and each
    backbone of ``backbones`` at ``large_size``, a pair per backbone: adding a backbone adds
    candidates and keeps every other one, stored fits included), all with flip, fitted by
    each of ``concat_methods`` (a name or a list)."""
    if isinstance(concat_methods, str):
        concat_methods = (concat_methods,)
    out = []
    for size in sizes:
        for flip in (False, True):
            view = ("effnet-lite0", int(size), "flip") if flip else ("effnet-lite0", int(size))
            out += [(method, (view,)) for method in methods]
    large = ("effnet-lite0", int(large_size), "flip")
    extra = [(b, int(large_size), "flip") for b in backbones]
    wide = [(view,) for view in extra]
    if int(min(sizes)) != int(large_size):
        wide.append((large, ("effnet-lite0", int(min(sizes)), "flip")))
    wide += [(large, view) for view in extra]
    out += [(method, views) for views in wide for method in concat_methods]
    return [(f"{view_name(views)} {method}", method, views) for method, views in out]


def teacher_study(data, candidates, ms, seeds, ctx, validation: float | int = 0.2,
                  store=None) -> pd.DataFrame:
    """One row per (candidate, M, seed): the teacher fitted on the known images less a
    ``validation`` share, scored on that share (``val_acc``), on the unknown images
    (``label_acc``) and on the test images, read from the label store or computed and stored
    (:func:`held_out_run`). With ``ctx.train_missing`` False a row the store lacks is
    left out (``missing`` in the frame's ``attrs`` lists them) rather than computed: its
    embeddings may take hours."""
    from .label_runs import label_key, label_store

    store = store or label_store(ctx)
    rows, missing = [], []
    for m in ms:
        for seed in seeds:
            for name, method, views in candidates:
                if not ctx.train_missing and store.find(label_key(
                        data, method, views, m, seed, validation=validation)) is None:
                    missing.append((name, int(m), int(seed)))
                    continue
                row = held_out_run(data, method, views, m, seed, ctx, validation, store)
                rows.append({"teacher": name, "method": method, "M": int(m),
                             "seed": int(seed), **{k: row.get(k) for k in _STUDY_COLUMNS}})
    frame = pd.DataFrame(rows, columns=["teacher", "method", "M", "seed", *_STUDY_COLUMNS])
    frame.attrs["missing"] = missing
    return frame


def held_out_run(data, method: str, views, m: int, seed: int, ctx, validation: float | int,
                 store=None) -> dict:
    """The label store's row of ``method`` on ``views`` at (M, seed) fitted without a
    ``validation`` share (or number) of the known images, computed and stored when missing
    (:func:`label_runs.label_run`, the one writer): ``val_acc``/``val_ece`` on that share
    (what a teacher is chosen by), ``label_acc``/``ece`` on the unknown images,
    ``test_acc``/``test_ece``, fit and embedding seconds. Its key is the full fit's
    (``label_runs.label_key``) plus ``validation``: the two never mix."""
    from .label_runs import label_run

    return label_run(data, method, views, m, seed, ctx, store, test=True,
                     validation=validation)


_STUDY_COLUMNS = ("val_acc", "val_ece", "label_acc", "test_acc", "ece", "test_ece", "seconds",
                  "embed_s")


def choose_teacher(study: pd.DataFrame) -> pd.DataFrame:
    """Per M, every teacher's scores averaged over its seeds, and ``chosen``: the one of
    highest validation accuracy (ties: the lower validation ECE, then the first listed, the
    cheaper view; a calibrated fit has its uncalibrated twin's accuracy). The choice reads the
    held-out known images' scores only, never the unknown or test images', so what it picks
    can be reported beside them without having been tuned on them."""
    if study.empty:
        return study.assign(seeds=[], chosen=[])
    order = {name: i for i, name in enumerate(dict.fromkeys(study["teacher"]))}
    table = (study.groupby(["M", "teacher"], sort=False)
             .agg(**{c: (c, "mean") for c in _STUDY_COLUMNS if c in study},
                  seeds=("seed", "count"))
             .reset_index())
    table["_order"] = table["teacher"].map(order)
    table = table.sort_values(["M", "_order"], kind="stable")
    best = table.sort_values(["M", "val_acc", "val_ece", "_order"],
                             ascending=[True, False, True, True],
                             kind="stable").groupby("M")["teacher"].first()
    table["chosen"] = table["teacher"] == table["M"].map(best)
    return table.drop(columns="_order").reset_index(drop=True)


# the fits at scikit-learn's default regularisation, C=1: the candidates the study first had
DEFAULT_C_METHODS = ("logreg", "logreg-cal", "logreg-self")


def teacher_choices(study: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{"every fit": :func:`choose_teacher` over every candidate, "C=1 fits": over the fits at
    C=1 alone} (the second only where the study holds both kinds). Why both: the second is
    the study as it stood before the cross-validated fits joined it, and
    ``semisup distill --among`` trains either's students; :func:`c_twins` pairs the
    students that differ in the teacher's C alone."""
    out = {"every fit": choose_teacher(study)}
    default_c = study[study["method"].isin(DEFAULT_C_METHODS)] if len(study) else study
    if 0 < len(default_c) < len(study):
        out["C=1 fits"] = choose_teacher(default_c)
    return out


def c_twins(candidates, default: str = "logreg-cal",
            tuned: str = "logreg-cv") -> list[tuple[tuple, str, str]]:
    """(views, the ``default`` fit's name, the ``tuned`` fit's name) for every views among
    ``candidates`` fitted both ways. Why: the students of such a pair differ in their
    teacher's C alone (the calibrated C=1 fit against the cross-validated one), the cleanest
    test of what the cross-validated C does for the student rather than for the teacher."""
    by_views: dict[tuple, dict[str, str]] = {}
    for name, method, views in candidates:
        by_views.setdefault(tuple(views), {})[method] = name
    return [(views, fits[default], fits[tuned]) for views, fits in by_views.items()
            if default in fits and tuned in fits]


def chosen_recipes(choice: pd.DataFrame, candidates, base) -> dict:
    """{M: the recipe ``base`` (a student's recipe: soft targets, temperature, ...) taught by
    the teacher :func:`choose_teacher` chose at M}: the fit and views of the chosen candidate,
    everything else as ``base``. Its run key is the base's where the choice is the base's own
    teacher, so a student already trained is read back, not trained again."""
    from dataclasses import replace

    fits = {name: (method, views) for name, method, views in candidates}
    out = {}
    for m, part in choice[choice["chosen"]].groupby("M"):
        method, views = fits[part["teacher"].iloc[0]]
        out[int(m)] = replace(base, name=f"chosen at M={int(m)}", teacher=method,
                              views=tuple(views))
    return out
