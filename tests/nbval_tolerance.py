"""nbval with a tolerance for the numbers that training makes machine-dependent.

A CPU run repeats bit for bit only on the same CPU, thread count and kernel set, so a trained
accuracy printed by a chapter differs by a few points from one machine to the next. nbval
compares every output exactly; this plugin keeps that for every cell except those tagged
``nbval-tolerance-<T>`` (e.g. ``nbval-tolerance-6``). In such a cell

- the text must match exactly once every decimal number is taken out: words, names, whole
  numbers (counts, M, seeds, steps), the table's rows and columns;
- each decimal number must lie within ``T`` of the reference's, in the units printed (points of
  a percentage, or a loss);
- a pandas table is compared through its HTML, whose layout does not move with the width of
  its numbers (the plain-text form is then not compared).

Everything else (sanitisers, ``nbval-ignore-output``, missing or extra outputs) is nbval's own.
"""
from __future__ import annotations

import re

TAG_PREFIX = "nbval-tolerance-"
# a sign is part of its number, whichever glyph the page writes it with (prose.signed: "+",
# the minus sign "−", "±" for a difference that rounds to zero), so a difference that crosses
# zero under other kernels is a number within tolerance, not changed text
DECIMAL = re.compile(r"(?<![\w.])[-+\u2212\u00b1]?\d+\.\d+(?![\w.])")
SIGNS = str.maketrans({"\u2212": "-", "\u00b1": ""})
SPACE = re.compile(r"\s+")


def tolerance_of(tags) -> float | None:
    """The tolerance a cell's tags give, or None for an exact comparison."""
    values = [t[len(TAG_PREFIX):] for t in tags or () if t.startswith(TAG_PREFIX)]
    if not values:
        return None
    if len(values) > 1:
        raise ValueError(f"a cell has {len(values)} tolerance tags ({', '.join(values)}): "
                         "keep one")
    try:
        tolerance = float(values[0])
    except ValueError:
        raise ValueError(f"tag {TAG_PREFIX}{values[0]}: the tolerance must be a number, "
                         f"e.g. {TAG_PREFIX}5") from None
    if not tolerance >= 0:
        raise ValueError(f"tag {TAG_PREFIX}{values[0]}: the tolerance must be >= 0")
    return tolerance


def split_numbers(text: str) -> tuple[str, list[float]]:
    """(the text with every decimal number replaced by '#', whitespace collapsed; the numbers)."""
    numbers = [float(m.group().translate(SIGNS)) for m in DECIMAL.finditer(text)]
    return SPACE.sub(" ", DECIMAL.sub("#", text)).strip(), numbers


def difference(reference: str, test: str, tolerance: float) -> str | None:
    """Why ``test`` does not match ``reference`` within ``tolerance``; None when it does."""
    ref_text, ref_numbers = split_numbers(reference)
    test_text, test_numbers = split_numbers(test)
    if ref_text != test_text:
        for i, (a, b) in enumerate(zip(ref_text, test_text)):
            if a != b:
                break
        else:
            i = min(len(ref_text), len(test_text))
        return (f"the text differs (decimal numbers set aside as '#'), from character {i}:\n"
                f"  reference: ...{ref_text[max(0, i - 60):i + 60]}...\n"
                f"  now:       ...{test_text[max(0, i - 60):i + 60]}...")
    for i, (a, b) in enumerate(zip(ref_numbers, test_numbers)):
        if abs(a - b) > tolerance + 1e-9:
            return (f"decimal number {i + 1} of {len(ref_numbers)} differs by more than the "
                    f"tolerance {tolerance:g}: reference {a:g}, now {b:g}\n"
                    f"  in: {ref_text[:300]}")
    return None


def _flatten(outputs, skip, sanitize) -> dict[str, list[str]]:
    """{mime type or stream name: [sanitised text, ...]}, as nbval compares them."""
    flat: dict[str, list[str]] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            flat.setdefault(output["name"], []).append(sanitize(output["text"]))
            continue
        data = dict(output.get("data", {}))
        if "text/html" in data:
            data.pop("text/plain", None)
        for mime, value in data.items():
            if mime not in skip:
                flat.setdefault(mime, []).append(sanitize(value if isinstance(value, str)
                                                          else "".join(value)))
    return flat


def compare(reference_outputs, test_outputs, tolerance, skip, sanitize) -> list[str]:
    """Every difference between two cells' outputs beyond ``tolerance``; empty when they agree."""
    ref = _flatten(reference_outputs, skip, sanitize)
    test = _flatten(test_outputs, skip, sanitize)
    if set(ref) != set(test):
        return [f"output kinds differ: reference {sorted(ref)}, now {sorted(test)}"]
    problems = []
    for kind, ref_values in ref.items():
        if len(ref_values) != len(test[kind]):
            problems.append(f"{kind}: {len(ref_values)} outputs in the reference, "
                            f"{len(test[kind])} now")
            continue
        for a, b in zip(ref_values, test[kind]):
            why = difference(a, b, tolerance)
            if why:
                problems.append(f"{kind}: {why}")
    return problems


def install() -> None:
    """Make nbval compare the tagged cells within their tolerance (called from conftest)."""
    from nbval.plugin import IPyNbCell

    if getattr(IPyNbCell.compare_outputs, "tolerant", False):
        return
    exact = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        tolerance = tolerance_of(self.cell.metadata.get("tags", []))
        if tolerance is None:
            return exact(self, test, ref, skip_compare)
        problems = compare(ref, test, tolerance, skip_compare or self.parent.skip_compare,
                           self.sanitize)
        self.comparison_traceback = [f"outputs differ beyond the cell's tolerance "
                                     f"({TAG_PREFIX}{tolerance:g}):", *problems]
        return not problems

    compare_outputs.tolerant = True
    IPyNbCell.compare_outputs = compare_outputs
