"""The book's figures. Each function takes data and returns a matplotlib Figure with a
title, axis labels and, where there is more than one series, a legend."""
from __future__ import annotations

from itertools import cycle

import numpy as np
import matplotlib.pyplot as plt

from ..data.dataset import CLASSES

MODEL_COLOURS = {"A": "tab:blue", "B": "tab:orange", "C": "tab:green"}


def image_grid(images, labels, classes=CLASSES, per_class: int = 8, seed: int = 0,
               title: str = "CIFAR-10 samples"):
    """``per_class`` random images of every class, one row a class."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(classes), per_class, figsize=(per_class * 0.9, len(classes) * 0.95))
    for row, name in enumerate(classes):
        pool = np.flatnonzero(labels == row)
        picks = rng.choice(pool, size=min(per_class, len(pool)), replace=False)
        for col in range(per_class):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(picks):
                ax.imshow(images[picks[col]])
        axes[row, 0].text(-4, 16, name, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.18, wspace=0.05, hspace=0.05)
    return fig


def class_balance(labels, classes=CLASSES, title: str = "Class balance"):
    counts = np.bincount(labels, minlength=len(classes))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(classes, counts, color="tab:blue", label="images per class")
    ax.axhline(counts.mean(), color="black", ls="--", lw=1, label=f"mean ({counts.mean():.0f})")
    ax.set(title=title, xlabel="class", ylabel="images")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    fig.tight_layout()
    return fig


def explained_variance(ratios, threshold: float = 0.8, title: str = "PCA: explained variance"):
    cumulative = np.cumsum(ratios)
    needed = int(np.searchsorted(cumulative, threshold) + 1)
    fig, ax = plt.subplots()
    ax.plot(np.arange(1, len(cumulative) + 1), cumulative, label="cumulative explained variance")
    ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"{threshold:.0%} of variance")
    ax.axvline(needed, color="tab:red", ls=":", lw=1, label=f"{needed} components")
    ax.set(xscale="log", title=title, xlabel="number of components (log scale)",
           ylabel="fraction of variance", ylim=(0, 1.01))
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def scatter_2d(points, labels, classes=CLASSES, title: str = "First two components",
               xlabel: str = "component 1", ylabel: str = "component 2"):
    fig, ax = plt.subplots(figsize=(7, 5.5))
    for label, name in enumerate(classes):
        chosen = labels == label
        ax.scatter(points[chosen, 0], points[chosen, 1], s=6, alpha=0.6, label=name)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(markerscale=3, fontsize=8, ncol=2, loc="best")
    fig.tight_layout()
    return fig


def confusion(matrix, classes=CLASSES, title: str = "Confusion matrix",
              xlabel: str = "inferred label", ylabel: str = "true label"):
    """Row-normalised confusion matrix (each true class sums to 1), counts annotated."""
    matrix = np.asarray(matrix)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{rates[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="share of the true class")
    fig.tight_layout()
    return fig


def guesses_side_by_side(images, true_labels, guessed, classes=CLASSES, n: int = 12,
                         seed: int = 0, title: str = "True label vs inferred label"):
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), size=min(n, len(images)), replace=False)
    cols = 6
    rows = int(np.ceil(len(picks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.9))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, i in zip(np.ravel(axes), picks):
        ax.imshow(images[i])
        ok = true_labels[i] == guessed[i]
        ax.set_title(f"true: {classes[true_labels[i]]}\nguess: {classes[guessed[i]]}",
                     fontsize=8, color="tab:green" if ok else "tab:red")
    fig.suptitle(title + " (green: right, red: wrong)")
    fig.tight_layout()
    return fig


def training_curves(histories: dict, title: str = "Test accuracy during training"):
    """histories: name -> list of per-epoch dicts with 'epoch' and 'test_acc'."""
    fig, ax = plt.subplots()
    for name, history in histories.items():
        history = [h for h in history if "test_acc" in h]  # long runs are tested every k epochs
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [100 * h["test_acc"] for h in history], marker="o", ms=3,
                label=f"Model {name}", color=MODEL_COLOURS.get(name))
    ax.set(title=title, xlabel="epoch (one pass over the model's training set)",
           ylabel="test accuracy (%)")
    ax.legend()
    fig.tight_layout()
    return fig


def model_colours(models) -> dict:
    """A, B and C keep their colours in every figure; any other model gets a colour of the
    tab10 cycle that none of them uses, so no two lines of a figure share one."""
    from matplotlib.colors import to_hex

    models = list(dict.fromkeys(models))
    taken = {to_hex(MODEL_COLOURS[m]) for m in models if m in MODEL_COLOURS}
    spare = cycle(c for c in map(to_hex, plt.get_cmap("tab10").colors) if c not in taken)
    return {m: MODEL_COLOURS[m] if m in MODEL_COLOURS else next(spare) for m in models}


def accuracy_vs_m(summary, report=None, title: str = "Test accuracy vs M"):
    """summary: rows with m, model, mean, std, n (accuracy in %); report: m, model, test_acc."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colours = model_colours(summary["model"])
    for model, part in summary.groupby("model"):
        part = part.sort_values("m")
        ax.errorbar(part["m"], part["mean"], yerr=part["std"].fillna(0), marker="o", capsize=3,
                    color=colours[model],
                    label=f"Model {model} (mean ± sd over {int(part['n'].max())} seeds)")
    if report is not None:
        for model, part in report.groupby("model"):
            ax.plot(part["m"], part["test_acc"], ls="none", marker="x", ms=8,
                    color=MODEL_COLOURS.get(model), label=f"Model {model}, report")
    ax.set(xscale="log", title=title, xlabel="M, number of known labels (log scale)",
           ylabel="test accuracy (%)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def bars(frame, x: str, y: str, title: str, xlabel: str, ylabel: str, hue: str | None = None,
         reference: dict | None = None):
    """Grouped bar chart of ``y`` by ``x`` (and ``hue``), optional horizontal reference lines."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    groups = list(dict.fromkeys(frame[x]))
    hues = list(dict.fromkeys(frame[hue])) if hue else [None]
    width = 0.8 / len(hues)
    for k, h in enumerate(hues):
        part = frame if h is None else frame[frame[hue] == h]
        values = [part.loc[part[x] == g, y].mean() if (part[x] == g).any() else np.nan
                  for g in groups]
        positions = np.arange(len(groups)) + (k - (len(hues) - 1) / 2) * width
        ax.bar(positions, values, width, label=str(h) if h is not None else y)
    for name, value in (reference or {}).items():
        ax.axhline(value, ls="--", lw=1, color="grey")
        ax.text(len(groups) - 0.5, value, name, va="bottom", ha="right", fontsize=8)
    ax.set_xticks(range(len(groups)), [str(g) for g in groups])
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def students_and_teacher(students, teacher, ceilings: dict, targets: dict | None = None,
                         title: str = "Students, teacher and ceiling vs M"):
    """One panel per augmentation: each student's test accuracy over M (mean ± sd), the
    teacher's own test accuracy, the ceiling (the same CNN on every true label) and the
    targets. ``students``: rows with augment, model, m, mean, std, n (%); ``teacher``: rows
    with m, mean, std (%); ``ceilings``: {augment: accuracy (%)}."""
    augments = list(dict.fromkeys(students["augment"]))
    fig, axes = plt.subplots(1, len(augments), figsize=(5 * len(augments), 4.5), sharey=True,
                             squeeze=False)
    colours = model_colours(students["model"])
    for ax, augment in zip(axes[0], augments):
        part = students[students["augment"] == augment]
        for model, rows in part.groupby("model", sort=False):
            rows = rows.sort_values("m")
            ax.errorbar(rows["m"], rows["mean"], yerr=rows["std"].fillna(0), marker="o",
                        capsize=3, color=colours[model],
                        label=f"{model} ({int(rows['n'].max())} seeds)")
        if len(teacher):
            rows = teacher.sort_values("m")
            ax.errorbar(rows["m"], rows["mean"], yerr=rows["std"].fillna(0), ls="--",
                        marker="s", capsize=3, color="black", label="teacher itself")
        if augment in ceilings and ceilings[augment] == ceilings[augment]:  # not NaN
            ax.axhline(ceilings[augment], color="grey", ls=":",
                       label=f"ceiling ({ceilings[augment]:.1f}%)")
        if targets:
            ax.plot(list(targets), list(targets.values()), ls="none", marker="*", ms=11,
                    color="gold", markeredgecolor="black", label="target")
        ax.set(xscale="log", title=f"augmentation: {augment}",
               xlabel="M, number of known labels (log scale)")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("test accuracy (%)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _teacher_family(name: str) -> str:
    if "+" in name:
        return "concatenation"
    if not name.startswith("lite0"):
        return "Lite1 / Lite2"
    return "Lite0, flip" if " flip " in name else "Lite0"


def validation_vs_test(table, headline: str | None = None,
                       title: str = "Teachers: held-out known images vs test images"):
    """One panel per M: each candidate teacher's accuracy on the held-out known images
    (what it is chosen by) against its accuracy on the test images, coloured by backbone and
    view, self-trained fits as triangles, fits at a cross-validated C as squares (both:
    triangles pointing down); the chosen one starred, ``headline`` (the teacher
    fixed in advance) circled. ``table``: teacher_eval.choose_teacher rows (fractions), the
    fit the last word of a teacher's name."""
    ms = list(dict.fromkeys(table["M"]))
    fig, axes = plt.subplots(1, len(ms), figsize=(4.2 * len(ms), 4.2), squeeze=False)
    families = ["Lite0", "Lite0, flip", "Lite1 / Lite2", "concatenation"]
    colours = dict(zip(families, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    # self-trained fits triangles, cross-validated C squares (down: both), the others circles
    markers = {"logreg-self": "^", "logreg-cv": "s", "logreg-cv-self": "v"}
    for ax, m in zip(axes[0], ms):
        part = table[table["M"] == m]
        family = part["teacher"].map(_teacher_family)
        fit = part["teacher"].str.rsplit(" ", n=1).str[-1]
        for name in families:
            for method in dict.fromkeys(fit[family == name]):
                rows = part[(family == name) & (fit == method)]
                ax.scatter(100 * rows["val_acc"], 100 * rows["test_acc"], s=24,
                           marker=markers.get(method, "o"), color=colours[name],
                           label=f"{name}, {method}")
        chosen = part[part["chosen"]]
        ax.scatter(100 * chosen["val_acc"], 100 * chosen["test_acc"], marker="*", s=220,
                   facecolor="gold", edgecolor="black", label="chosen", zorder=3)
        if headline is not None and (part["teacher"] == headline).any():
            fixed = part[part["teacher"] == headline]
            ax.scatter(100 * fixed["val_acc"], 100 * fixed["test_acc"], s=140,
                       facecolor="none", edgecolor="black", label="fixed in advance")
        low = 100 * min(part["val_acc"].min(), part["test_acc"].min()) - 1
        high = 100 * max(part["val_acc"].max(), part["test_acc"].max()) + 1
        ax.plot([low, high], [low, high], ls=":", color="grey", lw=1)
        ax.set(title=f"M = {m:,}", xlabel="accuracy on held-out known images (%)",
               ylabel="accuracy on the test images (%)")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def teacher_cost(table, headline: str | None = None,
                 title: str = "Teachers: held-out accuracy against embedding cost"):
    """One panel per M: each candidate teacher's accuracy on the held-out known images
    against the multiply-adds that embed one image for it (log scale; ``gmacs`` column,
    billions), coloured as in :func:`validation_vs_test`; the chosen one starred,
    ``headline`` (the teacher fixed in advance) circled."""
    ms = list(dict.fromkeys(table["M"]))
    fig, axes = plt.subplots(1, len(ms), figsize=(4.2 * len(ms), 4.2), squeeze=False,
                             sharey=True)
    families = ["Lite0", "Lite0, flip", "Lite1 / Lite2", "concatenation"]
    colours = dict(zip(families, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, m in zip(axes[0], ms):
        part = table[table["M"] == m]
        family = part["teacher"].map(_teacher_family)
        for name in families:
            rows = part[family == name]
            if len(rows):
                ax.scatter(rows["gmacs"], 100 * rows["val_acc"], s=24, color=colours[name],
                           label=name)
        chosen = part[part["chosen"]]
        ax.scatter(chosen["gmacs"], 100 * chosen["val_acc"], marker="*", s=220,
                   facecolor="gold", edgecolor="black", label="chosen", zorder=3)
        if headline is not None and (part["teacher"] == headline).any():
            fixed = part[part["teacher"] == headline]
            ax.scatter(fixed["gmacs"], 100 * fixed["val_acc"], s=140, facecolor="none",
                       edgecolor="black", label="fixed in advance")
        ax.set_xscale("log")
        ax.set(title=f"M = {m:,}", xlabel="embedding cost (billion multiply-adds per image)",
               ylabel="accuracy on held-out known images (%)" if ax is axes[0][0] else None)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# the headline figure's look per series (findings.headline's names): colour, line, marker
_HEADLINE_STYLE = {
    "best student (held-out teacher)": ("tab:red", "-", "o", 2.4),
    "its teacher": ("black", "--", "s", 1.2),
    "Model A, same compute": ("tab:blue", "-", "o", 1.6),
    "ceiling (all labels)": ("grey", ":", None, 1.4),
}


def headline(frame, title: str = "Test accuracy of the report's CNN over M"):
    """The study's answer in one figure: test accuracy (%) over M (log scale) of the report's
    Models A, B and C at its protocol (thin lines) beside the report's own runs (hollow
    markers), and, at the report's compute, Model A, the best student, its teacher and the
    ceiling. ``frame``: findings.headline's rows (series, m, mean, sd, n)."""
    fig, ax = plt.subplots(figsize=(8, 6.2))
    for model, colour in MODEL_COLOURS.items():
        mine = frame[frame["series"] == f"{model}, report's protocol"].sort_values("m")
        if len(mine):
            ax.errorbar(mine["m"], mine["mean"], yerr=mine["sd"].fillna(0), color=colour,
                        lw=1, alpha=0.55, capsize=2,
                        label=f"{model}, report's protocol ({int(mine['n'].max())} seeds)")
        theirs = frame[frame["series"] == f"{model}, the report"].sort_values("m")
        if len(theirs):
            ax.plot(theirs["m"], theirs["mean"], ls="none", marker="D", mfc="none", ms=7,
                    color=colour, label=f"{model}, the report (1 run)")
    for series, (colour, ls, marker, lw) in _HEADLINE_STYLE.items():
        rows = frame[frame["series"] == series].sort_values("m")
        if rows.empty:
            continue
        seeds = int(rows["n"].max())
        label = series if series == "its teacher" else f"{series} ({seeds} seeds)"
        ax.errorbar(rows["m"], rows["mean"], yerr=rows["sd"].fillna(0), color=colour, ls=ls,
                    marker=marker, lw=lw, capsize=3, label=label)
    from matplotlib.ticker import FixedLocator, NullLocator

    ms = sorted(set(frame["m"]))
    ax.set(xscale="log", title=title, xlabel="M, number of known labels (log scale)",
           ylabel="test accuracy (%)")
    ax.xaxis.set_major_locator(FixedLocator(ms))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{m:,}" for m in ms])
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, ncol=2, loc="lower center",
               bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.tight_layout(rect=(0, 0.22, 1, 1))
    return fig
