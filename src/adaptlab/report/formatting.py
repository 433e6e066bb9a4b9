"""How the report writes numbers: percentages with one decimal, a dash for what is missing.

Used as Jinja filters by the templates and by the figures' annotations, so a number reads the
same in a table and on a chart. A score is a fraction in [0, 1] of some metric: accuracy reads
as a percentage, any other metric (chrF, similarity, …) on a 0-100 scale without a unit.
"""

from __future__ import annotations

import json
import math
from typing import Any

from adaptlab.decide.wording import ACCURACY

MISSING = "—"


def finite(value: Any) -> float | None:
    """`value` as a float when it is a finite number, else None (missing, NaN, not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage: ``pct(0.4123) == "41.2%"``."""
    number = finite(value)
    return MISSING if number is None else f"{number * 100:.{digits}f}%"


def pct_range(low: Any, high: Any) -> str:
    """A confidence interval of fractions: ``pct_range(0.367, 0.458) == "36.7–45.8%"``."""
    low_n, high_n = finite(low), finite(high)
    if low_n is None or high_n is None:
        return MISSING
    return f"{low_n * 100:.1f}–{high_n * 100:.1f}%"


def score_number(value: Any, metric: str = ACCURACY) -> str:
    """A score under a heading that names its metric: ``"71.2%"`` for accuracy, ``"41.3"`` for
    another metric; a dash when it is missing (or its grading failed)."""
    number = finite(value)
    if number is None or metric == ACCURACY:
        return pct(number)
    return f"{number * 100:.1f}"


def score_range(low: Any, high: Any, metric: str = ACCURACY) -> str:
    """A score's interval: ``"36.7–45.8%"`` for accuracy, ``"38.0–44.9"`` for another metric."""
    low_n, high_n = finite(low), finite(high)
    if low_n is None or high_n is None or metric == ACCURACY:
        return pct_range(low_n, high_n)
    return f"{low_n * 100:.1f}–{high_n * 100:.1f}"


def points(value: Any) -> str:
    """A difference of fractions in percentage points: ``points(0.034) == "+3.4 pp"``."""
    number = finite(value)
    return MISSING if number is None else f"{number * 100:+.1f} pp"


def score_gain(value: Any, metric: str = ACCURACY) -> str:
    """A difference of two scores: percentage points for accuracy (``"+3.4 pp"``), plain
    points on the 0-100 scale for another metric (``"+3.4"``)."""
    number = finite(value)
    if number is None or metric == ACCURACY:
        return points(number)
    return f"{number * 100:+.1f}"


def seconds(value: Any) -> str:
    """A duration: ``"45 ms"``, ``"1.91 s"``, ``"3 min 20 s"``."""
    number = finite(value)
    if number is None:
        return MISSING
    if number < 1:
        return f"{number * 1000:.0f} ms"
    if number < 100:
        return f"{number:.2f} s"
    if number < 3600:
        return f"{number // 60:.0f} min {number % 60:.0f} s"
    return f"{number / 3600:.1f} h"


def usd(value: Any) -> str:
    """Dollars with enough digits to tell small per-request prices apart: ``"$0.00123"``."""
    number = finite(value)
    if number is None:
        return MISSING
    if number == 0 or abs(number) >= 100:
        return f"${number:,.0f}"
    if abs(number) >= 1:
        return f"${number:,.2f}"
    # Three significant digits, written out: $0.0000175 rather than $1.75e-05.
    decimals = 2 - math.floor(math.log10(abs(number)))
    return f"${number:.{decimals}f}"


def num(value: Any, digits: int = 0) -> str:
    """A plain number with thousands separators: ``num(12345) == "12,345"``."""
    number = finite(value)
    return MISSING if number is None else f"{number:,.{digits}f}"


def plain(value: Any) -> str:
    """Any JSON value for a key/value table: a dash for null, yes/no, compact JSON for
    lists and objects."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


FILTERS = {
    "plain": plain,
    "pct": pct,
    "pct_range": pct_range,
    "points": points,
    "seconds": seconds,
    "usd": usd,
    "num": num,
}
