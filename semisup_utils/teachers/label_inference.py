"""Label inference: a label and a confidence for every unknown image.

Every method has one signature, ``method(features, known_idx, known_labels, seed=..., **options)``
and returns :class:`InferredLabels` for the indices not in ``known_idx``. ``features`` is any
(N, D) array (PCA vectors, embeddings); for ``cnn`` it is the images themselves.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

N_CLASSES = 10  # CIFAR-10's; every method takes ``n_classes`` for other datasets


@dataclass(frozen=True)
class InferredLabels:
    """Guesses for the unknown images: ``labels[i]`` is the guess for image ``indices[i]``."""

    indices: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    method: str
    probabilities: np.ndarray | None = None  # (n_unknown, n_classes) where the method has them
    n_classes: int = N_CLASSES
    # probabilities of new feature rows (e.g. the test images') from the fitted model, where
    # the method can predict points it was not fit with; never cached (None when read back)
    predict: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False,
                                                                repr=False)


class UnknownMethodError(KeyError):
    def __str__(self):
        return str(self.args[0])


def _unknown_indices(n: int, known_idx: np.ndarray) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    mask[known_idx] = False
    return np.flatnonzero(mask)


def _check_inputs(features, known_idx, known_labels, n_classes=None):
    """(known indices, known labels, number of classes): the dataset's when given, else one
    more than the largest known label."""
    known_idx = np.asarray(known_idx)
    known_labels = np.asarray(known_labels)
    if len(known_idx) != len(known_labels):
        raise ValueError(f"{len(known_idx)} known indices but {len(known_labels)} known labels")
    if len(known_idx) == 0 or len(known_idx) >= len(features):
        raise ValueError(f"need 1..{len(features) - 1} known points, got {len(known_idx)}")
    n_classes = int(n_classes or known_labels.max() + 1)
    if known_labels.min() < 0 or known_labels.max() >= n_classes:
        raise ValueError(f"known labels must lie in 0..{n_classes - 1} ({n_classes} classes)")
    return known_idx, known_labels, n_classes


# ----------------------------------------------------------------------------- cluster maps
def contingency(clusters: np.ndarray, labels: np.ndarray, n_clusters: int,
                n_classes: int = N_CLASSES) -> np.ndarray:
    """counts[c, y]: how many points of cluster c carry label y."""
    counts = np.zeros((n_clusters, n_classes), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    return counts


def majority_map(counts: np.ndarray) -> np.ndarray:
    """Each cluster takes its most common known label; ties go to the smaller label.

    A cluster with no known point takes the most common known label overall.
    """
    mapping = counts.argmax(axis=1)
    empty = counts.sum(axis=1) == 0
    mapping[empty] = counts.sum(axis=0).argmax()
    return mapping


def greedy_map(counts: np.ndarray) -> np.ndarray:
    """One-to-one: repeatedly pair the largest remaining (cluster, label) count.

    With more clusters than labels, clusters left over once every label is used fall back to
    their majority label.
    """
    counts = counts.astype(float)
    mapping = np.full(len(counts), -1)
    free = counts.copy()
    for _ in range(min(counts.shape)):
        c, y = np.unravel_index(np.argmax(free), free.shape)
        mapping[c] = y
        free[c, :] = -1
        free[:, y] = -1
    rest = mapping < 0
    mapping[rest] = majority_map(counts[rest].astype(np.int64))
    return mapping


CLUSTER_MAPS = {"majority": majority_map, "greedy": greedy_map}


def _kmeans(features, n_clusters, seed):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(features)


def _cluster_guess(features, known_idx, known_labels, km, mapping: str, method: str,
                   n_classes: int):
    if mapping not in CLUSTER_MAPS:
        raise ValueError(f"unknown cluster map {mapping!r}; known: {', '.join(CLUSTER_MAPS)}")
    unknown = _unknown_indices(len(features), known_idx)
    known_clusters = km.predict(features[known_idx])
    counts = contingency(known_clusters, known_labels, km.n_clusters, n_classes)
    cluster_to_label = CLUSTER_MAPS[mapping](counts)
    clusters = km.predict(features[unknown])
    labels = cluster_to_label[clusters]
    # confidence: the share of the cluster's known points that carry the mapped label
    totals = np.maximum(counts.sum(axis=1), 1)
    purity = counts[np.arange(len(counts)), cluster_to_label] / totals
    def predict(x):  # one-hot of the mapped cluster
        return np.eye(n_classes, dtype=np.float32)[cluster_to_label[km.predict(x)]]

    return InferredLabels(unknown, labels, purity[clusters].astype(np.float32), method,
                          n_classes=n_classes, predict=predict)


def kmeans_known(features, known_idx, known_labels, seed: int = 0,
                 n_clusters: int | None = None, mapping: str = "majority",
                 n_classes: int | None = None) -> InferredLabels:
    """The report's way: K-means fit on the known points (one cluster per class unless
    ``n_clusters`` says otherwise), clusters mapped to labels."""
    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    n_clusters = min(n_clusters or n_classes, len(known_idx))
    km = _kmeans(features[known_idx], n_clusters, seed)
    return _cluster_guess(features, known_idx, known_labels, km, mapping, f"kmeans-{mapping}",
                          n_classes)


def kmeans_all(features, known_idx, known_labels, seed: int = 0, n_clusters: int = 100,
               mapping: str = "majority", n_classes: int | None = None) -> InferredLabels:
    """K-means on all points (known and unknown), any number of clusters."""
    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(n_clusters=min(n_clusters, len(features)), n_init=3,
                         random_state=seed, batch_size=4096).fit(features)
    return _cluster_guess(features, known_idx, known_labels, km, mapping, "kmeans-all",
                          n_classes)


def _classifier_proba(classifier, x, n_classes) -> np.ndarray:
    """(n, n_classes) probabilities of a fitted scikit-learn classifier; classes it never saw
    get 0."""
    proba = np.zeros((len(x), n_classes), dtype=np.float32)
    proba[:, classifier.classes_] = classifier.predict_proba(x)
    return proba


def _from_classifier(classifier, features, known_idx, known_labels, method,
                     n_classes) -> InferredLabels:
    unknown = _unknown_indices(len(features), known_idx)
    classifier.fit(features[known_idx], known_labels)
    proba = _classifier_proba(classifier, features[unknown], n_classes)
    return InferredLabels(unknown, proba.argmax(1), proba.max(1), method, proba, n_classes,
                          predict=lambda x: _classifier_proba(classifier, x, n_classes))


def knn(features, known_idx, known_labels, seed: int = 0, k: int = 10,
        n_classes: int | None = None) -> InferredLabels:
    """k-nearest known neighbours by cosine distance, distance-weighted vote."""
    from sklearn.neighbors import KNeighborsClassifier

    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    classifier = KNeighborsClassifier(n_neighbors=min(k, len(known_idx)), weights="distance",
                                      metric="cosine")
    return _from_classifier(classifier, features, known_idx, known_labels, "knn", n_classes)


def logistic(features, known_idx, known_labels, seed: int = 0, C: float = 1.0,
             max_iter: int = 300, n_classes: int | None = None) -> InferredLabels:
    """Multinomial logistic regression on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    classifier = make_pipeline(StandardScaler(),
                               LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    return _from_classifier(classifier, features, known_idx, known_labels, "logreg", n_classes)


def logistic_calibrated(features, known_idx, known_labels, seed: int = 0, C: float = 1.0,
                        max_iter: int = 300, folds: int = 5,
                        n_classes: int | None = None) -> InferredLabels:
    """:func:`logistic` with its confidences calibrated by temperature scaling, the temperature
    fit on ``folds``-fold out-of-fold predictions of the known points (scikit-learn's
    CalibratedClassifierCV). Same labels, confidences that mean what they say: the basis of
    thresholds and soft targets."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    folds = _cv_folds(known_labels, folds, "logreg-cal")
    base = make_pipeline(StandardScaler(),
                         LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    classifier = CalibratedClassifierCV(base, method="temperature", cv=folds, ensemble=False)
    return _from_classifier(classifier, features, known_idx, known_labels, "logreg-cal",
                            n_classes)


# the regularisation strengths a cross-validated fit chooses from: 1e-4 to 1, a factor ~3 apart
C_GRID = tuple(float(c) for c in np.logspace(-4, 0, 9))


def _cv_folds(known_labels: np.ndarray, folds: int, method: str) -> int:
    folds = int(min(folds, np.bincount(known_labels).min()))
    if folds < 2:
        raise ValueError(f"{method} needs at least 2 known points of every class")
    return folds


def choose_C(x_known, y_known, seed: int = 0, Cs=C_GRID, folds: int = 5,
             max_iter: int = 300) -> float:
    """The inverse regularisation strength of highest ``folds``-fold out-of-fold likelihood on
    the known points (scikit-learn's LogisticRegressionCV, log loss). Why: a fixed C=1
    overfits standardised embeddings (at M=40,000 on Lite0 features 94% train, 76% unknown;
    C=0.003: 88% and 82%), and the best C shrinks as the known points grow fewer."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    folds = _cv_folds(np.asarray(y_known), folds, "choose_C")
    # scikit-learn >= 1.8 asks for the L2 penalty as l1_ratios=(0,) and has a new layout of
    # scores_; older versions know neither
    modern = "use_legacy_attributes" in LogisticRegressionCV().get_params()
    search = LogisticRegressionCV(
        Cs=sorted(Cs), cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        scoring="neg_log_loss", max_iter=max_iter, random_state=seed, refit=False,
        **({"l1_ratios": (0.0,), "use_legacy_attributes": False} if modern else {}))
    search.fit(StandardScaler().fit_transform(x_known), y_known)
    scores = search.scores_  # per fold and C (legacy: the same array for every class)
    scores = np.asarray(next(iter(scores.values())) if isinstance(scores, dict) else scores)
    mean = scores.reshape(folds, -1, len(search.Cs_)).mean(0).max(0)
    return float(search.Cs_[int(np.argmax(mean))])  # ties: the smaller C


def logistic_cv(features, known_idx, known_labels, seed: int = 0, Cs=C_GRID, folds: int = 5,
                max_iter: int = 300, n_classes: int | None = None) -> InferredLabels:
    """:func:`logistic` at the C of :func:`choose_C`, refit on every known point. Chosen by
    log loss, the fit's confidences are close to calibrated without a temperature."""
    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    _cv_folds(known_labels, folds, "logreg-cv")
    C = choose_C(features[known_idx], known_labels, seed, Cs, folds, max_iter)
    return replace(logistic(features, known_idx, known_labels, seed=seed, C=C,
                            max_iter=max_iter, n_classes=n_classes), method="logreg-cv")


def _top_share_per_class(proba: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask: in every predicted class, its ``share`` most confident points (class
    by class, so that no class is crowded out of the pseudo-labels)."""
    confidence, labels = proba.max(1), proba.argmax(1)
    keep = np.zeros(len(proba), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = int(np.ceil(share * len(members)))
        keep[members[np.argsort(-confidence[members], kind="stable")[:count]]] = True
    return keep


def _logits(model, x) -> np.ndarray:
    """(n, classes seen) logits of a fitted logistic regression; scikit-learn gives two
    classes one margin d, i.e. the logits (-d/2, d/2)."""
    z = model.decision_function(x)
    return np.stack([-z / 2, z / 2], axis=1) if z.ndim == 1 else z


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(logits / T) on
    held-out points (temperature scaling, Guo et al. 2017): one number, labels unchanged."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(labels))

    def nll(log_t):
        z = logits / np.exp(log_t)
        z = z - z.max(1, keepdims=True)
        return float(-(z[rows, labels] - np.log(np.exp(z).sum(1))).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-4, 4), method="bounded").x))


def _self_trained_logreg(x_known, y_known, x_pool, C, max_iter, seed, rounds, share):
    """Self-training: fit on the known points, then ``rounds`` times add the most confident
    share of the pool per predicted class as pseudo-labelled (the share growing to ``share``)
    and refit from the known points plus those. Returns the last model."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fit(x, y):
        return make_pipeline(StandardScaler(), LogisticRegression(
            C=C, max_iter=max_iter, random_state=seed)).fit(x, y)

    model = fit(x_known, y_known)
    for round_ in range(1, rounds + 1):
        proba = model.predict_proba(x_pool)
        keep = _top_share_per_class(proba, share * round_ / rounds)
        pseudo_x, pseudo_y = x_pool[keep], model.classes_[proba[keep].argmax(1)]
        model = fit(np.concatenate([x_known, pseudo_x]), np.concatenate([y_known, pseudo_y]))
    return model


def _self_training_temperature(x_known, y_known, x_pool, C, max_iter, seed, rounds, share,
                               folds):
    """Temperature of the self-trained model from out-of-fold logits of the known points. Each
    fold is predicted by a model self-trained without its labels (no held-out label leaks in
    through the pseudo-labels) but with its points in the pool, so that they are scored as the
    unknown points are: most of them pseudo-labelled and fit on. (Scored as new points
    instead, the temperature left the unknown points' confidences ~10 points too high.)"""
    from sklearn.model_selection import StratifiedKFold

    logits = np.zeros((len(y_known), int(y_known.max()) + 1))
    for fit_rows, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(
            x_known, y_known):
        model = _self_trained_logreg(x_known[fit_rows], y_known[fit_rows],
                                     np.concatenate([x_pool, x_known[held]]), C, max_iter,
                                     seed, rounds, share)
        logits[held] = -1e9  # a class the fold's model never saw gets no probability
        logits[np.ix_(held, model.classes_)] = _logits(model, x_known[held])
    return fit_temperature(logits, y_known)


def logistic_self_training(features, known_idx, known_labels, seed: int = 0, C: float = 1.0,
                           max_iter: int = 300, rounds: int = 3, share: float = 0.9,
                           calibrate: bool = True, folds: int = 3,
                           n_classes: int | None = None) -> InferredLabels:
    """Semi-supervised :func:`logistic`: self-training on the unknown features (``rounds``
    refits, each adding the most confident points per predicted class as pseudo-labelled, up
    to ``share`` of them), so the decision boundary moves into the gaps between clusters that
    the few known points cannot place. ``calibrate``: temperature scaling as ``logreg-cal``,
    the temperature fit on ``folds``-fold out-of-fold logits of the known points, each fold
    predicted by a whole self-training without its labels (so calibration costs ``folds`` more
    self-trainings; 3 folds by default for that reason). The temperature suits the unknown
    points, which the model was fit on as pseudo-labelled; ``predict`` applies it to new points
    too, where the model is less sure (teacher_eval's test ECE shows how much)."""
    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    if not 0 < share <= 1 or isinstance(rounds, bool) or int(rounds) != rounds or rounds < 1:
        raise ValueError(f"share={share!r} must lie in (0, 1] and rounds={rounds!r} be >= 1")
    features = np.asarray(features, dtype=np.float32)
    unknown = _unknown_indices(len(features), known_idx)
    x_known = features[known_idx]
    model = _self_trained_logreg(x_known, known_labels, features[unknown], C, max_iter, seed,
                                 int(rounds), share)
    temperature = 1.0
    if calibrate:
        folds = int(min(folds, np.bincount(known_labels).min()))
        if folds < 2:
            raise ValueError("logreg-self with calibrate=True needs at least 2 known points "
                             "of every class")
        temperature = _self_training_temperature(x_known, known_labels, features[unknown], C,
                                                 max_iter, seed, int(rounds), share, folds)

    def predict(x):
        proba = np.zeros((len(x), n_classes), dtype=np.float32)
        proba[:, model.classes_] = _softmax(_logits(model, np.asarray(x, np.float32))
                                            / temperature)
        return proba

    proba = predict(features[unknown])
    return InferredLabels(unknown, proba.argmax(1), proba.max(1), "logreg-self", proba,
                          n_classes, predict=predict)


def logistic_cv_self_training(features, known_idx, known_labels, seed: int = 0, Cs=C_GRID,
                              folds: int = 5, max_iter: int = 300,
                              n_classes: int | None = None, **self_training) -> InferredLabels:
    """:func:`logistic_self_training` at the C :func:`choose_C` picks on the known points alone
    (the pseudo-labels never vote on it); ``self_training``: its rounds, share, calibration."""
    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    _cv_folds(known_labels, folds, "logreg-cv-self")
    C = choose_C(features[known_idx], known_labels, seed, Cs, folds, max_iter)
    return replace(logistic_self_training(features, known_idx, known_labels, seed=seed, C=C,
                                          max_iter=max_iter, n_classes=n_classes,
                                          **self_training), method="logreg-cv-self")


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray,
                               bins: int = 15) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence
    bins weighted by their size (0 = perfectly calibrated)."""
    confidence = np.asarray(confidence, float)
    correct = np.asarray(correct, float)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return float(total / max(len(confidence), 1))


def label_spreading(features, known_idx, known_labels, seed: int = 0, k: int = 10,
                    alpha: float = 0.2, max_iter: int = 30, dims: int = 128,
                    n_classes: int | None = None) -> InferredLabels:
    """Graph-based: known labels diffuse over a k-nearest-neighbour graph of all points
    (scikit-learn's LabelSpreading), on L2-normalised features reduced to ``dims`` by PCA
    (cosine neighbours; the reduction keeps the graph affordable for 50,000 points)."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import normalize
    from sklearn.semi_supervised import LabelSpreading

    known_idx, known_labels, n_classes = _check_inputs(features, known_idx, known_labels,
                                                       n_classes)
    x = normalize(np.asarray(features, dtype=np.float32))
    dims = min(dims, len(x) - 1) if dims else dims  # PCA keeps at most n - 1 components
    reduce = None
    if dims and x.shape[1] > dims:
        reduce = PCA(dims, random_state=seed, svd_solver="randomized").fit(x)
        x = normalize(reduce.transform(x))
    y = np.full(len(x), -1)
    y[known_idx] = known_labels
    model = LabelSpreading(kernel="knn", n_neighbors=k, alpha=alpha, max_iter=max_iter,
                           n_jobs=-1).fit(x, y)
    unknown = _unknown_indices(len(x), known_idx)
    proba = np.zeros((len(unknown), n_classes), dtype=np.float32)
    dist = model.label_distributions_[unknown]
    dist = np.nan_to_num(dist / np.maximum(dist.sum(1, keepdims=True), 1e-12))
    proba[:, model.classes_] = dist

    def predict(new):  # new points join the graph through their neighbours, as sklearn does
        z = normalize(np.asarray(new, dtype=np.float32))
        z = normalize(reduce.transform(z)) if reduce is not None else z
        out = np.zeros((len(z), n_classes), dtype=np.float32)
        out[:, model.classes_] = np.nan_to_num(model.predict_proba(z))
        return out

    return InferredLabels(unknown, proba.argmax(1), proba.max(1), "spread", proba, n_classes,
                          predict=predict)


def cnn(features, known_idx, known_labels, seed: int = 0, model=None,
        device=None, n_classes: int | None = None) -> InferredLabels:
    """The predictions of a trained CNN (Model C's labels); ``features`` are the images."""
    from ..training.train import predict_proba

    if model is None:
        raise ValueError("method 'cnn' needs model=<a trained CNN>")
    known_idx, known_labels, _ = _check_inputs(features, known_idx, known_labels, n_classes)
    unknown = _unknown_indices(len(features), known_idx)
    proba = predict_proba(model, features[unknown], device=device)  # the network's width
    return InferredLabels(unknown, proba.argmax(1), proba.max(1), "cnn", proba, proba.shape[1])


# the methods fitted on feature vectors (the embedding teachers of teachers.TEACHERS)
FEATURE_METHODS = {
    "kmeans": kmeans_known,
    "kmeans-greedy": lambda *a, **k: kmeans_known(*a, mapping="greedy", **k),
    "kmeans-all": kmeans_all,
    "knn": knn,
    "logreg": logistic,
    "logreg-cal": logistic_calibrated,
    "logreg-self": logistic_self_training,
    "logreg-cv": logistic_cv,
    "logreg-cv-self": logistic_cv_self_training,
    "spread": label_spreading,
}
# every method by name; ``cnn`` labels with a trained network (Model C's teacher), not features
METHODS = {**FEATURE_METHODS, "cnn": cnn}


def check_method(name: str) -> str:
    if name not in METHODS:
        raise UnknownMethodError(
            f"unknown label-inference method {name!r}; known methods: {', '.join(METHODS)}")
    return name


def fit_method(method: str, features, known_idx, known_labels, seed: int = 0,
               **options) -> InferredLabels:
    """Dispatch by name: ``fit_method('logreg', feats, known_idx, y[known_idx])``."""
    return METHODS[check_method(method)](features, known_idx, known_labels, seed=seed, **options)


def probabilities(inferred: InferredLabels) -> np.ndarray:
    """(n_unknown, n_classes) class probabilities; one-hot for cluster methods."""
    if inferred.probabilities is not None:
        return inferred.probabilities
    proba = np.zeros((len(inferred.labels), inferred.n_classes), dtype=np.float32)
    proba[np.arange(len(proba)), inferred.labels] = 1.0
    return proba


def fit_method_cached(method: str, features, known_idx, known_labels, *, key: dict,
                      seed: int = 0, cache_dir=None, n: int | None = None,
                      **options) -> tuple[InferredLabels, float]:
    """:func:`fit_method` through the on-disk cache; also returns the seconds the inference
    took when it was computed. ``key`` names the features (e.g. data fingerprint, backbone,
    input size); the known indices themselves are hashed into the cache key. ``features`` may
    also be a function returning them, called only when the labels are not cached (so a cache
    hit loads no embeddings); then give their number of rows as ``n``."""
    import hashlib
    import time

    from ..base.cache import ArrayCache

    known_idx = np.asarray(known_idx)
    if callable(features) and n is None:
        raise ValueError("features given as a function: give their number of rows as n=")
    # the number of classes follows from the data fingerprint in ``key``: not part of the key,
    # so the labels cached before it was an option still match
    n_classes = options.get("n_classes")
    key_options = {k: v for k, v in options.items() if k != "n_classes"}
    full_key = {**key, "method": check_method(method), "seed": int(seed),
                "options": key_options,
                "n": len(features) if n is None else int(n), "labels_version": 1,
                "known": hashlib.sha256(known_idx.astype(np.int64).tobytes()).hexdigest()}
    cache = ArrayCache(cache_dir)
    stored = cache.load("labels", full_key)
    if stored is not None:
        proba = stored.get("probabilities")
        proba = proba if proba is not None and proba.size else None
        width = n_classes or (proba.shape[1] if proba is not None else N_CLASSES)
        guess = InferredLabels(stored["indices"], stored["labels"], stored["confidence"], method,
                               proba, width)
        return guess, float(stored["seconds"])
    if callable(features):
        features = features()
    start = time.perf_counter()
    guess = fit_method(method, features, known_idx, known_labels, seed=seed, **options)
    seconds = time.perf_counter() - start
    cache.save("labels", full_key, {
        "indices": guess.indices, "labels": guess.labels, "confidence": guess.confidence,
        "probabilities": guess.probabilities if guess.probabilities is not None
        else np.zeros((0, guess.n_classes), np.float32), "seconds": np.array(seconds)})
    return guess, seconds


def label_quality(inferred: InferredLabels, true_labels: np.ndarray) -> dict:
    """Accuracy, labels used and confusion matrix (rows: true, columns: inferred)."""
    from sklearn.metrics import confusion_matrix

    truth = np.asarray(true_labels)[inferred.indices]
    return {
        "accuracy": float((truth == inferred.labels).mean()),
        "ece": expected_calibration_error(inferred.confidence, truth == inferred.labels),
        "labels_used": int(len(np.unique(inferred.labels))),
        "n_inferred": int(len(inferred.labels)),
        "confusion": confusion_matrix(truth, inferred.labels, labels=np.arange(
            max(inferred.n_classes, int(truth.max()) + 1))),
    }
