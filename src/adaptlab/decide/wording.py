"""How the decision writes numbers in sentences: one decimal for percentages, intervals named.

Every reason cites a measured figure, so the figures have to read the same everywhere: a
percentage with one decimal, a difference in points with its interval, dollars with enough
digits to tell small per-request prices apart.

>>> pct(0.4123), points(0.034), usd(0.0000171)
('41.2%', '+3.4 points', '$0.0000171')
"""

from __future__ import annotations

import math

from adaptlab.evaluation.metrics import CONFIDENCE

CI = f"{CONFIDENCE:.0%} CI"
"""``95% CI``."""


def pct(fraction: float | None) -> str:
    return "an unknown share" if fraction is None else f"{fraction * 100:.1f}%"


def points(difference: float | None) -> str:
    """A difference of fractions in percentage points, signed."""
    return "an unknown difference" if difference is None else f"{difference * 100:+.1f} points"


def gain_interval(low: float | None, high: float | None) -> str:
    """``95% CI -1.0 to +4.4 points`` for a difference."""
    if low is None or high is None:
        return "no interval measured"
    return f"{CI} {low * 100:+.1f} to {high * 100:+.1f} points"


def usd(value: float | None) -> str:
    """Dollars with three significant digits below $1: per-request prices are tiny."""
    if value is None:
        return "an unknown amount"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    decimals = 2 - math.floor(math.log10(abs(value)))
    return f"${value:.{decimals}f}"


def seconds(value: float | None) -> str:
    """``0.061 s``, ``27.4 s``, ``3 min 20 s``, ``1.5 h``."""
    if value is None:
        return "an unknown time"
    if value < 1:
        return f"{value:.3f} s"
    if value < 100:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value // 60:.0f} min {value % 60:.0f} s"
    return f"{value / 3600:.1f} h"


def count(value: float | None) -> str:
    """A whole number with thousands separators: ``1,234``."""
    return "an unknown number of" if value is None else f"{math.ceil(value):,}"


def tokens(value: float | None) -> str:
    return "an unknown number of tokens" if value is None else f"{value:.0f} tokens"


ACCURACY = "accuracy"


def score_text(value: float | None, metric: str = ACCURACY, display: str | None = None) -> str:
    """A primary-metric score as a sentence cites it: accuracy as a percentage (``71.2%``),
    any other metric by its name on a 0-100 scale (``chrF 41.3``).

    >>> score_text(0.7125), score_text(0.4134, "chrf", "chrF")
    ('71.2%', 'chrF 41.3')
    """
    if metric == ACCURACY:
        return pct(value)
    name = display or metric
    return f"{name} (unknown)" if value is None else f"{name} {value * 100:.1f}"


def score_interval(low: float | None, high: float | None, metric: str = ACCURACY) -> str:
    """``95% CI 36.7–45.8%`` for accuracy, ``95% CI 38.0–44.9`` for another metric."""
    if low is None or high is None:
        return "no interval measured"
    unit = "%" if metric == ACCURACY else ""
    return f"{CI} {low * 100:.1f}–{high * 100:.1f}{unit}"


def draw_spread_text(spread: float, rung: str, draws: int) -> str:
    """How a sentence names a rung's demo-draw spread (the max - min of its scores).

    >>> draw_spread_text(0.0625, "few-shot-random-4", 3)
    'the 6.2-point spread of few-shot-random-4 across 3 demo draws'
    """
    return f"the {spread * 100:.1f}-point spread of {rung} across {draws} demo draws"
