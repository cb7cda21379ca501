"""The two chance-corrected agreement coefficients, on nominal categories.

Both are computed here, from counts whose size does not grow with the
project: Cohen's kappa from a pair's confusion counts, Krippendorff's alpha
from the coincidences of the distinct units. Each is a few lines of
arithmetic. scikit-learn's ``cohen_kappa_score`` would bring SciPy for one
line; the ``krippendorff`` package's ``alpha`` takes one row per unit and
builds a units x categories x categories array (2 million tokens rated by 3
labelers: 1.2 GB), where a project's tokens are counted here as their few
hundred distinct units. The tests check both against those two libraries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable
from fractions import Fraction

#: One unit's values: (category, how many raters gave it), sorted by category.
UnitValues = tuple[tuple[str, int], ...]


def cohen_kappa(pairs: Counter[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa from how often rater A gave x while rater B gave y,
    ``(po - pe) / (1 - pe)``; None when there is nothing to compare or chance
    agreement is total (both raters used one and the same category)."""
    n = sum(pairs.values())
    if not n:
        return None
    observed = sum(count for (x, y), count in pairs.items() if x == y) / n
    by_a: Counter[Hashable] = Counter()
    by_b: Counter[Hashable] = Counter()
    for (x, y), count in pairs.items():
        by_a[x] += count
        by_b[y] += count
    expected = sum(by_a[c] * by_b[c] for c in by_a) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def krippendorff_alpha(units: Counter[UnitValues]) -> float | None:
    """Krippendorff's alpha (nominal) over units given as their values with
    counts, each distinct unit with how many times it occurs: 1 - D_o / D_e,
    from the coincidence matrix (Krippendorff 2011). Units with fewer than
    two values pair with nothing and do not count. None when no unit has two
    values or only one category was ever given. Exact (fractions), so the
    result does not depend on the order the units were counted in."""
    coincidences: defaultdict[tuple[str, str], Fraction] = defaultdict(Fraction)
    for unit, times in units.items():
        values = sum(count for _, count in unit)
        if values < 2:
            continue
        for c, n_c in unit:
            for k, n_k in unit:
                coincidences[c, k] += Fraction(times * n_c * (n_k - (c == k)), values - 1)
    totals: defaultdict[str, Fraction] = defaultdict(Fraction)
    for (c, _), o in coincidences.items():
        totals[c] += o
    if sum(1 for n_c in totals.values() if n_c) < 2:
        return None
    n = sum(totals.values())
    observed = sum(o for (c, k), o in coincidences.items() if c != k)  # nominal: every two categories differ by 1
    expected = (n * n - sum(n_c * n_c for n_c in totals.values())) / (n - 1)
    return float(1 - observed / expected)


def unit_values(values: list[str]) -> UnitValues:
    """One unit's values as :func:`krippendorff_alpha` counts them."""
    return tuple(sorted(Counter(values).items()))
