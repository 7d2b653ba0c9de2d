"""The tables and computed phrases of the data and the report's label inference (chapters 1-4):
one call each, rounded, read from what the page shows, no raw error text."""
from __future__ import annotations

import urllib.error

import numpy as np
import pandas as pd
import pytest

from semisup_utils.book import tables
from semisup_utils.teachers.features import BackboneUnavailableError
from semisup_utils.teachers.label_inference import InferredLabels


def test_class_split_table_counts_and_shares_per_class():
    labels = np.array([0] * 6 + [1] * 4)
    known, unknown = np.array([0, 1, 6]), np.array([2, 3, 4, 5, 7, 8, 9])
    table = tables.class_split_table(labels, known, unknown, ("cat", "dog"))
    assert list(table.index) == ["cat", "dog"] and table.index.name == "class"
    assert table["known"].tolist() == [2, 1] and table["unknown"].tolist() == [4, 3]
    assert table["known share (%)"].tolist() == [66.7, 33.3]
    assert table["training share (%)"].tolist() == [60.0, 40.0]


def test_class_balance_phrases_read_the_rounded_table():
    labels = np.array([0] * 6 + [1] * 4)
    table = tables.class_split_table(labels, [0, 1, 6], [2, 3, 4, 5, 7, 8, 9],
                                     ("cat", "dog"))
    phrases = tables.class_balance_phrases(table)
    assert phrases["known_range"] == "from 33.3% (dog) to 66.7% (cat)"
    # both classes are 6.7 points off; the first is named
    assert phrases["largest_gap"] == ("6.7 points (cat: 66.7% of the known images, 60.0% of "
                                      "the training set)")
    even = tables.class_split_table(labels, [0, 6], [1, 2, 3, 4, 5, 7, 8, 9], ("cat", "dog"))
    even["training share (%)"] = even["known share (%)"]
    assert tables.class_balance_phrases(even)["largest_gap"] == (
        "under 0.1 points for every class")


def test_between_class_share_is_one_for_separate_points_and_zero_for_shared_means():
    assert tables.between_class_share([[0.0], [0.0], [2.0], [2.0]], [0, 0, 1, 1]) == 1.0
    assert tables.between_class_share([[-1.0], [1.0], [-1.0], [1.0]], [0, 0, 1, 1]) == 0.0
    share = tables.between_class_share([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    assert share == pytest.approx(0.8)  # means 0.5 and 2.5 around 1.5: 4 x 1 of 5


def _guess(labels, confidence):
    return InferredLabels(indices=np.arange(len(labels)), labels=np.array(labels),
                          confidence=np.array(confidence), method="kmeans", n_classes=3)


def test_label_quality_table_one_row_per_way_rounded():
    results = {
        "majority": (_guess([0, 0, 1], [0.5, 0.5, 0.25]),
                     {"accuracy": 0.22041, "labels_used": 2}),
        "greedy one-to-one": (_guess([0, 1, 2], [0.2, 0.2, 0.2]),
                              {"accuracy": 0.19962, "labels_used": 3}),
    }
    table = tables.label_quality_table(results, 3)
    assert table.index.name == "cluster map"
    assert list(table.index) == ["majority", "greedy one-to-one"]
    assert table["label accuracy (%)"].tolist() == [22.0, 20.0]
    assert table["labels used (of 3)"].tolist() == [2, 3]
    assert table["mean confidence (%)"].tolist() == [41.7, 20.0]


def test_confusion_phrase_names_the_largest_share_of_a_true_class():
    confusion = np.array([[8, 2, 0], [1, 1, 0], [0, 0, 0]])  # rows: true; one empty class
    assert tables.confusion_phrase(confusion, ("cat", "dog", "frog")) == (
        "it labels 50.0% of the dog images cat")
    assert tables.confusion_phrase(np.eye(3), "abc") == "it labels every image right"


def test_report_range_and_the_side_a_value_falls_on():
    assert tables.report_embedding_range({"PCA": 22.0, "nets": (29.0, 31.0)}) == (29.0, 31.0)
    assert tables.report_embedding_range({}) is None
    assert tables.against_range(35.0, 29, 31) == "above"
    assert tables.against_range(31.04, 29, 31) == "within"
    assert tables.against_range(28.9, 29, 31) == "below"


def _unavailable(name, cause):
    try:
        try:
            raise cause
        except Exception as error:
            raise BackboneUnavailableError(
                f"the ImageNet weights of torchvision's {name} could not be loaded ({error}); "
                "they download on first use, so this backbone needs internet once") from error
    except BackboneUnavailableError as error:
        return error


def test_unavailable_backbones_in_one_sentence_without_the_raw_error():
    offline = urllib.error.URLError("[Errno -2] Name or service not known")
    missing = {name: _unavailable(name, offline) for name in ("vgg16", "vgg19")}
    sentence = tables.unavailable_sentence(missing)
    assert sentence == ("The backbones vgg16 and vgg19 could not be loaded offline: their ImageNet weights "
                        "download on first use, and the machine that computed this page had "
                        "no internet connection.")
    missing["keras-vgg16"] = BackboneUnavailableError("keras-vgg16 needs Keras 3 (pip install "
                                                      "'semisup[keras]')")
    missing["odd"] = _unavailable("odd", ValueError("checksum <mismatch>"))
    sentence = tables.unavailable_sentence(missing)
    assert "Errno" not in sentence and "<" not in sentence and sentence.count(".") == 1
    assert "keras-vgg16 could not be loaded (keras-vgg16 needs Keras 3" in sentence
    only = tables.unavailable_sentence({"keras-vgg16": missing["keras-vgg16"]})
    assert only.startswith("The backbone keras-vgg16 could not be loaded (keras-vgg16 needs")
    one = tables.unavailable_sentence({"vgg16": missing["vgg16"]})
    assert one.startswith("The backbone vgg16 could not be loaded offline: its ImageNet")
    assert "odd could not be loaded (the ImageNet weights of torchvision's odd could not " \
           "be loaded)" in sentence
    assert tables.unavailable_sentence({}) == "Every backbone compared could be loaded."


def _embeddings_results():
    return pd.DataFrame({
        "features": ["PCA", "effnet-lite0", "vgg16", "effnet-lite0", "effnet-lite0"],
        "input size": [32, 32, 32, 32, 64],
        "acc": [22.04, 24.4, 23.0, 24.4, 35.01]})


def test_embeddings_story_best_features_over_pixels_and_the_report():
    story = tables.embeddings_story(_embeddings_results(), "acc", "PCA", "effnet-lite0",
                                    (29.0, 31.0))
    assert story["best"] == "effnet-lite0 at 64x64"
    assert story["best_acc"] == "35.0%" and story["pixels_acc"] == "22.0%"
    assert story["over_pixels"] == "13.0 points above"
    assert story["against_report"] == "above the report's 29–31%"
    assert story["best_name"] == "effnet-lite0"
    assert story["size_effect"] == ("feeding effnet-lite0 64x64 images instead of 32x32 "
                                    "raises its label accuracy from 24.4% to 35.0%")
    no_report = tables.embeddings_story(_embeddings_results(), "acc", "PCA", "vgg16")
    assert no_report["against_report"] == ""
    assert no_report["size_effect"] == "only one input size of vgg16 is compared here"


def test_embeddings_story_when_the_pixels_win_and_sizes_tie():
    results = pd.DataFrame({"features": ["PCA", "net", "net"], "input size": [32, 32, 64],
                            "acc": [30.0, 20.0, 20.04]})
    story = tables.embeddings_story(results, "acc", "PCA", "net", (29.0, 31.0))
    assert story["over_pixels"] == "10.0 points below"
    assert story["against_report"] == "below the report's 29–31%"
    assert story["size_effect"] == ("feeding net 64x64 images instead of 32x32 leaves its "
                                    "label accuracy at 20.0%")


def test_range_text():
    assert tables.range_text(29.0, 31.0) == "29–31%"
    assert tables.range_text(22.0, 22.2) == "22%"
