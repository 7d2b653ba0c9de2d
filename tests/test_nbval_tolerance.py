"""The tolerant comparison of nbval cells (tests/nbval_tolerance.py)."""
from __future__ import annotations

import pytest
from nbformat import NotebookNode

from nbval_tolerance import compare, difference, split_numbers, tolerance_of

SKIP = ("metadata", "traceback", "execution_count", "image/png")


def same(text):
    return text


def test_tolerance_comes_from_the_tag():
    assert tolerance_of(["nbval-tolerance-8"]) == 8
    assert tolerance_of(["hide-cell", "nbval-tolerance-0.1"]) == 0.1
    assert tolerance_of(["nbval-ignore-output"]) is None
    assert tolerance_of([]) is None


@pytest.mark.parametrize("tags, match", [
    (["nbval-tolerance-x"], "must be a number"),
    (["nbval-tolerance-1", "nbval-tolerance-2"], "keep one"),
])
def test_bad_tolerance_tags_are_refused(tags, match):
    with pytest.raises(ValueError, match=match):
        tolerance_of(tags)


def test_decimals_are_set_aside_whole_numbers_stay_in_the_text():
    text, numbers = split_numbers("M=500:  A 35.1%,\n B -2.50 points (3 seeds)")
    assert text == "M=500: A #%, B # points (3 seeds)"
    assert numbers == [35.1, -2.5]


def test_a_difference_that_crosses_zero_is_a_number_whatever_its_sign_glyph():
    """prose.signed writes "+0.4", "−0.2" (the minus sign) and "±0.0": a gain that crosses
    zero under other CPU kernels is a number within tolerance, not changed text."""
    assert split_numbers("gain +0.4 ± 4.9, −0.2 and ±0.0") == (
        "gain # ± #, # and #", [0.4, 4.9, -0.2, 0.0])
    assert difference("B − A: +0.4\u00a0±\u00a04.9", "B − A: \u22120.3\u00a0±\u00a05.1", 8) is None
    assert "differs by more" in difference("+0.4", "\u22129.0", 8)


def test_numbers_within_the_tolerance_agree():
    assert difference("A 35.1% B 26.3%", "A 30.2% B 29.0%", 8) is None
    assert difference("loss 0.712", "loss 0.790", 0.1) is None


def test_a_number_beyond_the_tolerance_is_named():
    why = difference("A 35.1% B 26.3%", "A 35.0% B 12.0%", 8)
    assert "decimal number 2 of 2" in why and "26.3" in why and "12" in why


def test_words_and_whole_numbers_must_match_exactly():
    assert "text differs" in difference("best: Model B 30.1%", "best: Model C 30.1%", 100)
    assert "text differs" in difference("1500 inferred labels", "1499 inferred labels", 100)
    assert "text differs" in difference("A 10.0", "A NaN", 100)


def test_table_layout_does_not_matter():
    assert difference("   A    9.7\n   B   10.0", "   A   10.3\n   B    9.9", 1) is None


def _result(html=None, plain=""):
    data = {"text/plain": plain}
    if html is not None:
        data["text/html"] = html
    return NotebookNode(output_type="execute_result", data=data, metadata={},
                        execution_count=1)


def test_a_table_is_compared_through_its_html():
    ref = [_result("<td>35.1</td>", plain="a  35.1")]
    test = [_result("<td>33.0</td>", plain="a    33.0  wrapped differently")]
    assert compare(ref, test, 5, SKIP, same) == []
    assert compare(ref, [_result("<td>13.0</td>", plain="a 13.0")], 5, SKIP, same)


def test_missing_or_extra_outputs_fail():
    stream = NotebookNode(output_type="stream", name="stdout", text="A 35.1\n")
    assert compare([stream], [], 5, SKIP, same)
    assert compare([stream], [stream, _result(plain="x")], 5, SKIP, same)
    assert compare([stream], [stream], 0, SKIP, same) == []


def test_sanitisers_apply_before_comparing():
    ref = [NotebookNode(output_type="stream", name="stdout", text="at /a/b: 35.1")]
    test = [NotebookNode(output_type="stream", name="stdout", text="at /c/d: 35.2")]
    assert compare(ref, test, 1, SKIP, same)
    assert compare(ref, test, 1, SKIP, lambda s: s.replace("/a/b", "P").replace("/c/d", "P")) == []


def test_the_suite_keeps_the_callers_thread_count():
    """conftest chooses one thread only where the caller chose none: OMP_NUM_THREADS=2 must
    reach the kernels of this process and of the nbval kernels (which inherit the variable)."""
    import os

    import torch

    import conftest

    expected = int(os.environ["OMP_NUM_THREADS"]) if conftest.THREADS_CHOSEN_BY_USER else 1
    assert os.environ["OMP_NUM_THREADS"] == str(expected)
    assert torch.get_num_threads() == expected
