"""Label inference: cluster maps, every method on separable data, the report."""
from __future__ import annotations

import numpy as np
import pytest

from semisup_utils.data.dataset import split_known
from semisup_utils.teachers.label_inference import (METHODS, InferredLabels, UnknownMethodError,
                                                    contingency, greedy_map, fit_method,
                                                    label_quality, majority_map)


def table(rows):
    """A (clusters, 10) count table from short rows (missing labels count 0)."""
    counts = np.zeros((len(rows), 10), dtype=np.int64)
    for i, row in enumerate(rows):
        counts[i, :len(row)] = row
    return counts


# ----------------------------------------------------------------------------- cluster maps
def test_contingency_counts():
    clusters = np.array([0, 0, 1, 2, 2, 2])
    labels = np.array([3, 3, 1, 0, 0, 9])
    counts = contingency(clusters, labels, 4)
    assert counts.shape == (4, 10) and counts.sum() == 6
    assert counts[0, 3] == 2 and counts[1, 1] == 1 and counts[2, 0] == 2 and counts[2, 9] == 1
    assert counts[3].sum() == 0


def test_majority_can_map_two_clusters_to_one_label_greedy_cannot():
    #               label: 0  1  2
    counts = table([[5, 0, 0],    # cluster 0: clearly label 0
                    [3, 1, 0],    # cluster 1: mostly label 0, some label 1
                    [0, 0, 4]])   # cluster 2: label 2
    assert majority_map(counts).tolist() == [0, 0, 2]
    # greedy pairs (0, 0) with 5 first, then (2, 2) with 4, leaving label 1 for cluster 1
    assert greedy_map(counts).tolist() == [0, 1, 2]


def test_majority_ties_and_empty_clusters():
    counts = table([[0, 2, 2],     # tie between labels 1 and 2: the smaller label
                    [0, 0, 0],     # no known point: the most common known label overall
                    [0, 0, 3]])
    assert majority_map(counts).tolist() == [1, 2, 2]


def test_greedy_is_one_to_one_and_falls_back_beyond_ten_clusters():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 20, (10, 10))
    mapping = greedy_map(counts)
    assert sorted(mapping.tolist()) == list(range(10))
    # eleven clusters: each label once, the eleventh cluster takes its majority label
    counts = np.diag(np.arange(10, 20))
    counts = np.vstack([counts, table([[0, 0, 0, 2, 1]])])
    mapping = greedy_map(counts)
    assert mapping[:10].tolist() == list(range(10))
    assert mapping[10] == 3


def test_greedy_takes_the_largest_count_first():
    counts = table([[4, 3], [5, 0]])
    # majority would give both clusters label 0; greedy gives it to cluster 1 (5 > 4)
    assert majority_map(counts).tolist() == [0, 0]
    assert greedy_map(counts).tolist() == [1, 0]


# ----------------------------------------------------------------------------- methods
def blobs(n_per_class=50, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, (10, dim))
    y = np.repeat(np.arange(10), n_per_class)
    return (centers[y] + rng.normal(0, 1, (len(y), dim))).astype(np.float32), y


X, Y = blobs()
KNOWN, UNKNOWN = split_known(Y, 50, seed=0)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "cnn"])
def test_method_beats_chance_on_separable_data(method):
    guess = fit_method(method, X, KNOWN, Y[KNOWN], seed=0)
    assert isinstance(guess, InferredLabels)
    np.testing.assert_array_equal(guess.indices, UNKNOWN)
    assert guess.labels.shape == guess.confidence.shape == (len(UNKNOWN),)
    assert guess.labels.min() >= 0 and guess.labels.max() <= 9
    assert np.all((guess.confidence >= 0) & (guess.confidence <= 1))
    if guess.probabilities is not None:
        assert guess.probabilities.shape == (len(UNKNOWN), 10)
        np.testing.assert_allclose(guess.probabilities.sum(1), 1, atol=1e-5)
        np.testing.assert_array_equal(guess.labels, guess.probabilities.argmax(1))
    accuracy = label_quality(guess, Y)["accuracy"]
    assert accuracy > 0.35, f"{method}: {accuracy:.3f} is not clearly above chance (0.1)"
    if method != "kmeans-all":  # fit on the known points: near-perfect on separated blobs
        assert accuracy > 0.8, f"{method}: {accuracy:.3f}"


@pytest.mark.parametrize("method", ["kmeans", "kmeans-all", "logreg"])
def test_method_is_seeded(method):
    a = fit_method(method, X, KNOWN, Y[KNOWN], seed=1)
    b = fit_method(method, X, KNOWN, Y[KNOWN], seed=1)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.confidence, b.confidence)


def test_kmeans_confidence_is_cluster_purity():
    # two blobs carry labels 0 and 1, but one of cluster 0's known points is labelled 1
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (20, 2)), rng.normal(10, 0.1, (20, 2))])
    known = np.array([0, 1, 2, 3, 20, 21])
    guess = fit_method("kmeans", x, known, np.array([0, 0, 0, 1, 1, 1]), n_clusters=2)
    first = guess.indices < 20
    assert np.all(guess.labels[first] == 0) and np.all(guess.labels[~first] == 1)
    np.testing.assert_allclose(guess.confidence[first], 0.75)
    np.testing.assert_allclose(guess.confidence[~first], 1.0)


def test_bad_inputs_refused():
    with pytest.raises(ValueError, match="known labels"):
        fit_method("knn", X, KNOWN, Y[KNOWN][:-1])
    with pytest.raises(ValueError, match="known points"):
        fit_method("knn", X, np.arange(len(X)), Y)
    with pytest.raises(ValueError, match="cluster map"):
        fit_method("kmeans", X, KNOWN, Y[KNOWN], mapping="hungarian")


def test_unknown_method_lists_known_ones():
    with pytest.raises(UnknownMethodError) as info:
        fit_method("label-propagation", X, KNOWN, Y[KNOWN])
    message = str(info.value)
    assert "label-propagation" in message
    for name in METHODS:
        assert name in message


# ----------------------------------------------------------------------------- cnn
@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 40)


@pytest.mark.parametrize("trained", [False, True])
def test_cnn_method(images, trained):
    import torch

    from semisup_utils.training.cnn import build_cnn
    from semisup_utils.training.train import train

    x, y = images
    if trained:
        model, _ = train(x, y, steps=2, batch_size=16, device="cpu", progress=False)
    else:
        torch.manual_seed(0)
        model = build_cnn().eval()
    known = np.arange(0, 40, 4)
    guess = fit_method("cnn", x, known, y[known], model=model, device="cpu")
    assert guess.method == "cnn"
    assert guess.indices.tolist() == [i for i in range(40) if i % 4]
    assert guess.probabilities.shape == (30, 10)
    np.testing.assert_allclose(guess.probabilities.sum(1), 1, atol=1e-5)
    assert np.all(guess.probabilities >= 0)
    np.testing.assert_array_equal(guess.labels, guess.probabilities.argmax(1))
    np.testing.assert_allclose(guess.confidence, guess.probabilities.max(1))
    # the guesses are the model's own predictions on those images
    with torch.no_grad():
        logits = model(torch.from_numpy(x[guess.indices]).permute(0, 3, 1, 2).float() / 255)
    np.testing.assert_allclose(guess.probabilities, logits.softmax(1).numpy(), atol=1e-5)


def test_cnn_method_needs_a_model(images):
    x, y = images
    with pytest.raises(ValueError, match="model="):
        fit_method("cnn", x, np.arange(5), y[:5])


# ----------------------------------------------------------------------------- report
def test_label_quality():
    truth = np.array([5, 0, 9, 1, 2, 7])
    guess = InferredLabels(indices=np.array([1, 3, 4]), labels=np.array([0, 1, 1]),
                           confidence=np.ones(3, np.float32), method="test")
    report = label_quality(guess, truth)
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["labels_used"] == 2
    assert report["n_inferred"] == 3
    confusion = report["confusion"]
    assert confusion.shape == (10, 10) and confusion.sum() == 3
    assert confusion[0, 0] == 1 and confusion[1, 1] == 1 and confusion[2, 1] == 1  # rows: truth


def test_cached_inference_reads_back_without_recomputing(tmp_path, monkeypatch):
    import numpy as np

    from semisup_utils.teachers import label_inference as labels

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 8)) * 4
    y = rng.integers(0, 10, 300)
    x = centres[y] + rng.normal(size=(300, 8))
    known = np.arange(60)
    first, seconds = labels.fit_method_cached("logreg", x, known, y[known], key={"f": 1},
                                              cache_dir=tmp_path)
    monkeypatch.setattr(labels, "fit_method", lambda *a, **k: pytest.fail("recomputed"))
    again, seconds_again = labels.fit_method_cached("logreg", x, known, y[known],
                                                    key={"f": 1}, cache_dir=tmp_path)
    assert np.array_equal(first.labels, again.labels) and seconds_again == seconds
    assert np.allclose(first.probabilities, again.probabilities)
    # other known points are another entry: computed, not read back
    with pytest.raises(pytest.fail.Exception):
        labels.fit_method_cached("logreg", x, known + 1, y[known + 1], key={"f": 1},
                                 cache_dir=tmp_path)


def test_expected_calibration_error_by_hand():
    from semisup_utils.teachers.label_inference import expected_calibration_error

    # two bins: confidence 0.9 right half the time (gap 0.4), 0.3 never right (gap 0.3)
    confidence = np.array([0.9, 0.9, 0.3, 0.3])
    correct = np.array([1, 0, 0, 0])
    assert expected_calibration_error(confidence, correct, bins=10) == pytest.approx(0.35)
    assert expected_calibration_error(np.ones(5), np.ones(5)) == 0


def test_calibrated_logreg_keeps_accuracy_and_lowers_calibration_error():
    """Few known points and many features make logistic regression overconfident;
    temperature scaling on out-of-fold predictions fixes the confidences, not the labels."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 4000)
    x = rng.normal(size=(4000, 200))
    x[:, :10] += np.eye(10)[y] * 1.5
    known = np.arange(300)
    plain = label_quality(fit_method("logreg", x, known, y[known]), y)
    calibrated = label_quality(fit_method("logreg-cal", x, known, y[known]), y)
    assert abs(calibrated["accuracy"] - plain["accuracy"]) < 0.03
    assert calibrated["ece"] < plain["ece"] / 2
    with pytest.raises(ValueError, match="2 known points of every class"):
        fit_method("logreg-cal", x, np.arange(10), np.arange(10))


def mixed_classes(n_known, strength, dim=200, n=5000, seed=0):
    """Ten classes whose means differ along a few directions mixed into ``dim`` noisy
    features, as embeddings are: weak regularisation fits the noise of the known points."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    mixing = rng.normal(size=(10, dim)) / np.sqrt(10)
    x = rng.normal(size=(n, dim)) + (np.eye(10)[y] * strength * 3) @ mixing
    return x.astype(np.float32), y, np.arange(n_known)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_cross_validated_C_beats_C_1_where_C_1_overfits(seed):
    from semisup_utils.teachers.label_inference import C_GRID, choose_C

    x, y, known = mixed_classes(1000, 0.15, seed=seed)
    C = choose_C(x[known], y[known], seed=seed)
    assert C in C_GRID and C <= 0.1
    plain = label_quality(fit_method("logreg", x, known, y[known]), y)
    tuned = fit_method("logreg-cv", x, known, y[known], seed=seed)
    assert tuned.method == "logreg-cv"
    tuned = label_quality(tuned, y)
    assert tuned["accuracy"] > plain["accuracy"] + 0.03
    assert tuned["ece"] < plain["ece"] / 4  # chosen by log loss: close to calibrated


def test_cross_validated_C_keeps_weak_regularisation_where_the_classes_are_clean():
    from semisup_utils.teachers.label_inference import choose_C

    x, y, known = mixed_classes(300, 0.3)
    assert choose_C(x[known], y[known]) >= 0.3
    with pytest.raises(ValueError, match="logreg-cv needs at least 2 known points"):
        fit_method("logreg-cv", x, np.arange(10), np.arange(10))


@pytest.mark.slow
def test_cross_validated_self_training_fits_at_the_chosen_C(monkeypatch):
    from semisup_utils.teachers import label_inference as labels

    x, y, known = mixed_classes(300, 0.2, n=2000)
    seen = []
    original = labels._self_trained_logreg
    monkeypatch.setattr(labels, "_self_trained_logreg",
                        lambda *a, **k: seen.append(a[3]) or original(*a, **k))
    guess = fit_method("logreg-cv-self", x, known, y[known], seed=2)
    assert guess.method == "logreg-cv-self"
    assert set(seen) == {labels.choose_C(x[known], y[known], seed=2)}
    assert label_quality(guess, y)["accuracy"] > label_quality(
        fit_method("logreg-cv", x, known, y[known], seed=2), y)["accuracy"] + 0.03


def test_cached_labels_load_lazy_features_only_on_a_miss(tmp_path):
    from semisup_utils.teachers.label_inference import fit_method_cached

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300)
    x = rng.normal(size=(300, 8)) + np.eye(10)[y][:, :8] * 3
    calls = []

    def features():
        calls.append(1)
        return x

    args = dict(key={"what": "test"}, cache_dir=tmp_path, n=300)
    first, _ = fit_method_cached("logreg", features, np.arange(50), y[:50], **args)
    again, _ = fit_method_cached("logreg", features, np.arange(50), y[:50], **args)
    assert len(calls) == 1 and np.array_equal(first.labels, again.labels)
    direct, _ = fit_method_cached("logreg", x, np.arange(50), y[:50], key={"what": "test"},
                                  cache_dir=tmp_path)
    assert np.array_equal(direct.labels, first.labels) and len(calls) == 1  # same key
    with pytest.raises(ValueError, match="n="):
        fit_method_cached("logreg", features, np.arange(50), y[:50], key={}, cache_dir=tmp_path)


# ----------------------------------------------------------------------------- self-training
def elongated_clusters(n=3000, k=10, dim=20, seed=1):
    """Ten elongated, overlapping Gaussian clusters: a few labels place a linear boundary
    badly, the unlabelled points show where the clusters lie."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (k, dim))
    directions = rng.normal(size=(k, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    y = rng.integers(0, k, n)
    x = centres[y] + rng.normal(size=(n, dim)) + rng.normal(size=(n, 1)) * 5 * directions[y]
    known = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False)
                                    for c in range(k)]))
    return x.astype(np.float32), y, known


@pytest.mark.slow
def test_self_training_beats_plain_logreg_with_few_labels():
    plain, self_trained = [], []
    for seed in range(4):  # the mean over four draws: one draw can go either way
        x, y, known = elongated_clusters(seed=seed)
        plain.append(label_quality(fit_method("logreg", x, known, y[known]), y))
        self_trained.append(label_quality(fit_method("logreg-self", x, known, y[known]), y))
    accuracy = [np.mean([r["accuracy"] for r in rows]) for rows in (plain, self_trained)]
    assert accuracy[1] > accuracy[0] + 0.02, accuracy
    ece = [np.mean([r["ece"] for r in rows]) for rows in (plain, self_trained)]
    assert ece[1] < ece[0] / 2, ece  # calibrated by temperature scaling


def test_self_training_is_deterministic_for_a_seed_and_predicts_new_points():
    x, y, known = elongated_clusters(n=1200)
    a = fit_method("logreg-self", x, known, y[known], seed=3)
    b = fit_method("logreg-self", x, known, y[known], seed=3)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    np.testing.assert_allclose(a.predict(x[a.indices]), a.probabilities, atol=1e-6)
    uncalibrated = fit_method("logreg-self", x, known, y[known], seed=3, calibrate=False)
    np.testing.assert_array_equal(uncalibrated.labels, a.labels)  # a temperature keeps labels
    with pytest.raises(ValueError, match="share"):
        fit_method("logreg-self", x, known, y[known], share=0)


def test_fit_temperature_recovers_the_temperature_of_the_labels():
    from semisup_utils.teachers.label_inference import _softmax, fit_temperature

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20000, 10))
    proba = _softmax(logits / 2.0)
    labels = (proba.cumsum(1) > rng.random((len(proba), 1))).argmax(1)
    assert fit_temperature(logits, labels) == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "cnn"])
def test_every_method_predicts_points_it_was_not_fit_with(method):
    """What teacher_eval measures on the test images: the fitted model applied to new rows."""
    guess = fit_method(method, X, KNOWN, Y[KNOWN], seed=0)
    new, y_new = blobs(n_per_class=5, seed=0)  # the same centres, fresh noise
    new = new + np.random.default_rng(9).normal(0, 0.1, new.shape).astype(np.float32)
    proba = guess.predict(new)
    assert proba.shape == (len(new), 10)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    if method != "kmeans-all":
        assert (proba.argmax(1) == y_new).mean() > 0.8
    if guess.probabilities is not None and method != "spread":  # spread diffuses, not refits
        np.testing.assert_allclose(guess.predict(X[UNKNOWN]), guess.probabilities, atol=1e-5)
