"""What a run trains on: a :class:`Recipe` names the teacher of the unknown images' labels,
which of its labels are kept, whether the CNN sees hard labels or the teacher's probabilities,
how much they weigh, and how many rounds of self-training follow.

The report's Models A, B and C are recipes like any other (``A``, ``B``, ``C``); how long they
train is the run's :class:`~semisup_utils.training.budget.Budget`, not the recipe's.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..teachers.teachers import check_teacher, get_teacher
from .schema import RENAMED  # names used before Models A, B and C became recipes

SELECTIONS = ("all", "threshold", "topk")
# how the temperature enters the loss: "targets" softens the teacher's probabilities only (what
# every stored run did); "hinton" also divides the student's logits by T and scales the
# teacher-labelled samples' loss by T^2 (Hinton et al. 2015; the trainer's temperature=)
DISTILL_LOSSES = ("targets", "hinton")


@dataclass(frozen=True)
class Recipe:
    name: str
    teacher: str = "logreg"          # a name of teachers.TEACHERS
    views: tuple = (("effnet-lite0", 96),)  # (backbone, input size) the teacher's features come
    #                                        from, concatenated; "pca" for PCA of the pixels
    with_model_a: bool = False       # average the teacher's probabilities with Model A's
    selection: str = "all"           # all | threshold | topk
    threshold: float = 0.0           # min confidence (threshold) or kept share per class (topk)
    soft: bool = False               # train on the teacher's probabilities, not its argmax
    weight: float = 1.0              # loss weight of an inferred sample
    confidence_weight: bool = False  # ... times the teacher's confidence
    rounds: int = 1                  # > 1: the student relabels the unknown images, retrained
    from_report: bool = False        # one of the report's models: keeps its own views when a
    #                                  study feeds the other teachers another input size
    temperature: float = 1.0         # soft targets p**(1/T), renormalised (T > 1 softens)
    known_mix: float = 0.0           # known images' targets: (1 - a) one-hot + a teacher's
    #                                  out-of-fold probabilities (0: the one-hot label)
    distill_loss: str = "targets"    # targets | hinton (DISTILL_LOSSES)
    views_bank: int = 0              # K > 0: the unknown images' targets from a bank of K
    #                                  augmented views each (semisup_utils.teachers.bank; 0: fixed)

    def __post_init__(self):
        teacher = get_teacher(check_teacher(self.teacher))
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection={self.selection!r}: expected one of "
                             f"{', '.join(SELECTIONS)}")
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold={self.threshold!r}: must lie in [0, 1]")
        if not 0 < self.weight <= 1:
            raise ValueError(f"weight={self.weight!r}: must lie in (0, 1]")
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            raise ValueError(f"rounds={self.rounds!r}: must be a whole number >= 1")
        object.__setattr__(self, "views", teacher.recipe_views(self.views))
        teacher.check(self)
        self._check_distillation(teacher)
        self._check_bank(teacher)

    def _check_distillation(self, teacher) -> None:
        """temperature and known_mix shape soft targets: refuse them where there are none, and
        known_mix where the teacher has no out-of-fold view of the known images."""
        if not self.temperature > 0:
            raise ValueError(f"temperature={self.temperature!r}: must be > 0")
        if not 0 <= self.known_mix <= 1:
            raise ValueError(f"known_mix={self.known_mix!r}: must lie in [0, 1]")
        if (self.temperature != 1 or self.known_mix) and not self.soft:
            raise ValueError("temperature and known_mix shape soft targets: use soft=True")
        if self.distill_loss not in DISTILL_LOSSES:
            raise ValueError(f"distill_loss={self.distill_loss!r}: expected one of "
                             f"{', '.join(DISTILL_LOSSES)}")
        if self.distill_loss == "hinton" and (self.temperature == 1 or self.known_mix):
            raise ValueError("distill_loss='hinton' needs temperature != 1 (at T = 1 it is the "
                             "plain loss) and no known_mix (a known image's target would be "
                             "part label at T = 1, part teacher at T)")
        if self.known_mix and not teacher.uses_embeddings:
            raise ValueError(f"known_mix needs out-of-fold probabilities of the known images, "
                             f"which only an embedding teacher gives, not {teacher.name!r}")

    def _check_bank(self, teacher) -> None:
        """A view bank embeds rendered views with the teacher's backbones and applies its
        classifier: an embedding teacher on backbone views, soft targets, nothing else mixed
        into the unknown images' targets."""
        k = self.views_bank
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"views_bank={k!r}: the number of views per image, a whole "
                             "number >= 0 (0: fixed targets)")
        if not k:
            return
        if not teacher.uses_embeddings:
            raise ValueError(f"views_bank needs an embedding teacher (e.g. logreg-cal), which "
                             f"can label rendered views; not {teacher.name!r}")
        if any(view[0] == "pca" for view in self.views):
            raise ValueError("views_bank embeds rendered views with a backbone: use backbone "
                             "views, not PCA")
        if not self.soft:
            raise ValueError("views_bank gives each view's probabilities as targets: use "
                             "soft=True")
        if self.with_model_a or self.rounds != 1:
            raise ValueError("views_bank holds the embedding teacher's probabilities alone: "
                             "use with_model_a=False and rounds=1")

    @property
    def uses_embeddings(self) -> bool:
        return get_teacher(self.teacher).uses_embeddings

    @property
    def needs_model_a(self) -> bool:
        """Whether the run needs Model A's network (trained first, under the same budget)."""
        return get_teacher(self.teacher).needs_model_a or self.with_model_a

    def key(self) -> dict:
        """The fields that make two recipes the same training (not the name). Fields added
        since the store began appear only when they differ from their default, so every stored
        run keeps its key."""
        key = {"teacher": self.teacher, "views": [list(v) for v in self.views],
               "with_model_a": self.with_model_a, "selection": self.selection,
               "threshold": float(self.threshold), "soft": self.soft,
               "weight": float(self.weight), "confidence_weight": self.confidence_weight,
               "rounds": self.rounds}
        if self.temperature != 1:
            key["temperature"] = float(self.temperature)
        if self.known_mix:
            key["known_mix"] = float(self.known_mix)
        if self.distill_loss != "targets":
            key["distill_loss"] = self.distill_loss
        if self.views_bank:
            key["views_bank"] = int(self.views_bank)
        return key

    def train_kwargs(self, index: np.ndarray, unknown: np.ndarray) -> dict:
        """What the recipe asks of the trainer (train.train) for the training set ``index``:
        with Hinton's loss, temperature T for the teacher-labelled (``unknown``) images and 1
        for the known ones."""
        if self.distill_loss != "hinton":
            return {}
        return {"temperature": np.where(np.isin(index, unknown), self.temperature, 1.0)}


_LITE0_224_FLIP = (("effnet-lite0", 224, "flip"),)

RECIPES = {r.name: r for r in [
    # the report's three models
    Recipe("A", teacher="none", from_report=True),
    Recipe("B", teacher="kmeans", views=(("effnet-lite0", 32),), weight=0.1, from_report=True),
    Recipe("C", teacher="cnn", weight=0.1, from_report=True),
    # the same CNN on every true label: the limit of what inferred labels can give
    Recipe("ceiling", teacher="truth"),
    # beyond the report
    Recipe("logreg", teacher="logreg"),
    Recipe("logreg-soft", teacher="logreg", soft=True),
    Recipe("logreg-top50", teacher="logreg", selection="topk", threshold=0.5),
    Recipe("logreg-confweight", teacher="logreg", confidence_weight=True),
    Recipe("logreg+A-soft", teacher="logreg", with_model_a=True, soft=True),
    Recipe("knn", teacher="knn"),
    Recipe("spread", teacher="spread"),
    Recipe("self-train-2", teacher="logreg", with_model_a=True, soft=True, rounds=2),
    Recipe("logreg-cal-soft", teacher="logreg-cal", soft=True),
    Recipe("fixmatch", teacher="fixmatch", selection="threshold", threshold=0.95),
    Recipe("multiscale-soft", teacher="logreg-cal", soft=True,
           views=(("effnet-lite0", 96), ("effnet-lite0", 64))),
    Recipe("multiscale+A-soft", teacher="logreg-cal", soft=True, with_model_a=True,
           views=(("effnet-lite0", 96), ("effnet-lite0", 64))),
    # issue 15: stronger teachers (224x224 with flip test-time augmentation, self-training,
    # Lite0/1/2 concatenated) and distillation (temperature, known images' soft targets)
    Recipe("lite0-224flip-cal-soft", teacher="logreg-cal", soft=True, views=_LITE0_224_FLIP),
    Recipe("lite0-224flip-cal-soft-T2", teacher="logreg-cal", soft=True, temperature=2.0,
           views=_LITE0_224_FLIP),
    Recipe("lite0-224flip-cal+A-soft-T2", teacher="logreg-cal", soft=True, temperature=2.0,
           with_model_a=True, views=_LITE0_224_FLIP),
    Recipe("lite0-224flip-cal-soft-T2-mix30", teacher="logreg-cal", soft=True,
           temperature=2.0, known_mix=0.3, views=_LITE0_224_FLIP),
    Recipe("lite0-224flip-self-soft", teacher="logreg-self", soft=True, views=_LITE0_224_FLIP),
    Recipe("lite012-224flip-cal-soft", teacher="logreg-cal", soft=True,  # extra 'teachers'
           views=tuple((f"effnet-lite{v}", 224, "flip") for v in range(3))),
    # issue 34: Hinton's loss (the student's logits at the same T, times T^2)
    Recipe("lite0-224flip-cal-soft-T2hinton", teacher="logreg-cal", soft=True, temperature=2.0,
           distill_loss="hinton", views=_LITE0_224_FLIP),
    Recipe("lite0-224flip-cal-soft-T4hinton", teacher="logreg-cal", soft=True, temperature=4.0,
           distill_loss="hinton", views=_LITE0_224_FLIP),
    # issue 34: consistent teaching, the teacher's probabilities of K views per unknown image
    *[Recipe(f"lite0-224flip-cal-soft-bank{k}", teacher="logreg-cal", soft=True, views_bank=k,
             views=_LITE0_224_FLIP) for k in (4, 8, 16)],
]}


def get_recipe(name: str | Recipe) -> Recipe:
    if isinstance(name, Recipe):
        return name
    name = RENAMED.get(name, name)
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known recipes: {', '.join(RECIPES)}")
    return RECIPES[name]


def at_input_size(recipe: Recipe, input_size: int) -> Recipe:
    """The recipe with its first view fed ``input_size`` pixels; the report's models keep
    their own (a study of other teachers leaves the report's B as the report had it)."""
    if not recipe.uses_embeddings or recipe.from_report:
        return recipe
    (backbone, _, *options), *extra = recipe.views  # options: e.g. "flip", kept
    return replace(recipe, views=((backbone, input_size, *options), *extra))


def with_views(recipe: Recipe, views) -> Recipe:
    """The recipe with the teacher's features taken from ``views`` (e.g. Model B's backbone and
    input size from a profile)."""
    return replace(recipe, views=tuple(tuple(v) for v in views))
