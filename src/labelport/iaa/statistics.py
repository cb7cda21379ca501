"""The two chance-corrected agreement coefficients, on nominal categories.

Cohen's kappa is computed here from a pair's confusion counts: it is one line
of arithmetic, and scikit-learn (with SciPy) would be ~100 MB for it.
Krippendorff's alpha comes from the ``krippendorff`` package (the
``agreement`` extra, with NumPy), given each unit's count of each category.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable

from ..errors import missing_extra

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
    counts, each distinct unit with how many times it occurs. Units with
    fewer than two values pair with nothing and do not count. None when no
    unit has two values or only one category was ever given."""
    pairable = {unit: times for unit, times in units.items() if sum(count for _, count in unit) >= 2}
    categories = sorted({category for unit in pairable for category, _ in unit})
    if len(categories) < 2:
        return None
    try:
        import krippendorff  # (extra: agreement)
        import numpy as np
    except ImportError as exc:
        raise missing_extra(exc.name or "krippendorff", "agreement", "Krippendorff's alpha") from None
    column = {category: i for i, category in enumerate(categories)}
    distinct = np.zeros((len(pairable), len(categories)), dtype=np.int64)
    for row, unit in enumerate(pairable):
        for category, count in unit:
            distinct[row, column[category]] = count
    counts = np.repeat(distinct, list(pairable.values()), axis=0)
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def alpha_available() -> bool:
    """Whether :func:`krippendorff_alpha` can be computed here (its package, the ``agreement`` extra, is installed)."""
    try:
        # (extra: agreement)
        import krippendorff  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def unit_values(values: list[str]) -> UnitValues:
    """One unit's values as :func:`krippendorff_alpha` counts them."""
    return tuple(sorted(Counter(values).items()))
