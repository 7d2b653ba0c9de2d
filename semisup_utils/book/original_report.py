"""The original report's figures, for side-by-side comparison (original CIFAR-10, Keras)."""

# test accuracy (%) of Models A, B and C at three values of M
TEST_ACCURACY = {
    500: {"A": 35.1, "B": 26.3, "C": 35.2},
    5000: {"A": 50.7, "B": 55.2, "C": 53.5},
    40000: {"A": 68.1, "B": 69.8, "C": 70.7},
}
# K-means label accuracy (%) on the unknown images; the report gives 29-31% for its three
# ImageNet backbones fed 32x32 images
LABEL_ACCURACY = {"PCA": 22.0, "VGG16 / VGG19 / EfficientNetV2B2": (29.0, 31.0)}
CNN = ("conv 3-16-32 (3x3), max-pool, conv 32-32-16, max-pool, dropout 0.5, "
       "linear 400-32-10; Adam 1e-3, 50 epochs; flip, colour jitter, small affine")


def report_frame(data=None):
    """The report's test accuracies as a long DataFrame (m, model, test_acc in %); empty for
    a dataset other than CIFAR-10, where they mean nothing."""
    import pandas as pd

    return pd.DataFrame([{"m": m, "model": model, "test_acc": acc}
                         for m, row in test_accuracy(data).items() for model, acc in row.items()],
                        columns=["m", "model", "test_acc"])


def _is_cifar10(data) -> bool:
    return data is None or getattr(data, "is_cifar10", True)


def test_accuracy(data=None) -> dict:
    """The report's test accuracies by M, for CIFAR-10 only (else empty): chapters show them
    beside their own numbers only when the data is the report's."""
    return TEST_ACCURACY if _is_cifar10(data) else {}


def label_accuracy(data=None) -> dict:
    """The report's K-means label accuracies, for CIFAR-10 only (else empty)."""
    return LABEL_ACCURACY if _is_cifar10(data) else {}

# not the report's: this project's targets for the best method beyond it (test accuracy %,
# mean of three seeds, at most the paper profile's compute per model)
TARGETS = {500: 60.0, 5000: 66.0, 40000: 72.0}


# the stronger-teachers study's targets (the teachers chapter): the report's CNN from scratch,
# the same compute, mean of three seeds; the last two above what the CNN reaches on all
# 50,000 true labels
TEACHER_TARGETS = {500: 70.0, 5000: 73.0, 40000: 75.0}


def targets(data=None, study: str = "sweep") -> dict:
    """This project's targets, set for CIFAR-10 only (else empty): ``sweep`` (the beyond-sweep
    chapter's) or ``teachers`` (the stronger-teachers chapter's)."""
    if study not in ("sweep", "teachers"):
        raise ValueError(f"study={study!r}: expected 'sweep' or 'teachers'")
    if not _is_cifar10(data):
        return {}
    return TARGETS if study == "sweep" else TEACHER_TARGETS

# what each of the report's models trains on
MODELS = {
    "A": "CNN on the M known labels only",
    "B": "known labels + labels inferred from pretrained embeddings (weight w)",
    "C": "known labels + Model A's predictions on the unknown images (weight w)",
}
