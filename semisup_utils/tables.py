"""Tables the chapters show: one call each, built from stored runs.

The chapters' visible code teaches the method; pivoting, renaming and formatting a table for
the page happens here, tested, with the glyphs of :mod:`semisup_utils.analysis`.
"""
from __future__ import annotations

import pandas as pd

from .analysis import PM, UNDEFINED, undefined_as_dash  # noqa: F401  (one set of glyphs)
