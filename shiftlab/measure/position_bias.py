"""Where ImageNet puts its objects: centre histograms and a per-class test of uniform position.

Two ways to describe where a box is, both in ``[0, 1]``:

*centre* (``positions="centre"``)
    the box centre as a fraction of the image width and height (:attr:`BoxTable.cx`,
    :attr:`BoxTable.cy`). If photographers placed objects anywhere, these would be spread over
    the whole square. This is the question Azulay & Weiss ask. It mixes position with size:
    a box as wide as the image *must* have its centre at 0.5.
*free position* (``positions="free"``)
    where the box sits within the range its size leaves free,
    ``u = xmin / (W - w)``, ``v = ymin / (H - h)`` (0 = touching the left/top edge, 1 = the
    right/bottom edge). Under "placed uniformly at random, whatever its size", ``(u, v)`` is
    uniform on the square. Boxes with less than ``min_slack`` of the side free (in either
    axis) carry almost no position information and are left out.

The test, per class: **Pearson's chi-square goodness-of-fit test of the k x k grid counts**
of the positions against the uniform distribution (expected count ``n / k^2`` per cell,
``k^2 - 1`` degrees of freedom). With one box per image (50 images per class) and ``k = 3``
the expected count is 5.6, above the usual rule of thumb of 5; a Monte Carlo p-value (exact
up to simulation error, for small or unequal counts) is available too. 1000 classes means
1000 tests, so the p-values are corrected for multiple testing: **Holm** (controls the
probability of *any* false rejection) and **Benjamini-Hochberg** (controls the expected
fraction of false rejections among the rejections), both at level ``alpha``.

**Uniform centres are not the null of random placement.** A box as wide as its image has its
centre at 0.5 wherever a photographer put it; a box half as wide has its centre in
``[0.25, 0.75]``. So the test of uniform centres rejects even boxes placed at random.
:func:`simulate_placement` makes such a null data set (every real box kept with its size and
image, its corner drawn uniformly from the positions where it fits), and
:func:`per_class_placement_test` is the size-aware test: the observed ``k x k`` counts of the
box centres against their exact expected counts under random placement
(:func:`placement_cell_probabilities`, summed per class).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from shiftlab.data.boxes import BoxTable

__all__ = [
    "POSITIONS",
    "positions",
    "centre_histogram",
    "grid_counts",
    "chi2_sf",
    "chi_square_uniformity",
    "monte_carlo_pvalues",
    "holm",
    "benjamini_hochberg",
    "UniformityTest",
    "ClassUniformity",
    "per_class_uniformity",
    "simulate_placement",
    "box_cells",
    "placement_cell_probabilities",
    "expected_grid_counts",
    "per_class_placement_test",
]

POSITIONS: tuple[str, ...] = ("centre", "free")


def positions(table: BoxTable, kind: str = "centre",
              min_slack: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box positions ``(x, y, valid)`` in ``[0, 1]`` (see the module docstring).

    Args:
        table: the boxes.
        kind: ``"centre"`` or ``"free"``.
        min_slack: for ``"free"``, the smallest free fraction of the side (``1 - w / W`` and
            ``1 - h / H``) a box needs to count; ``valid`` is False for the others. For
            ``"centre"`` every box is valid.
    """
    if kind not in POSITIONS:
        raise ValueError(f"kind must be one of {POSITIONS}, got {kind!r}")
    if kind == "centre":
        return table.cx, table.cy, np.ones(len(table), dtype=bool)
    if not 0 <= min_slack < 1:
        raise ValueError(f"min_slack must be in [0, 1), got {min_slack}")
    free_w = (table.width - (table.xmax - table.xmin)).astype(np.float64)
    free_h = (table.height - (table.ymax - table.ymin)).astype(np.float64)
    valid = (free_w > 0) & (free_h > 0) & (free_w >= min_slack * table.width) & (free_h >= min_slack * table.height)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(free_w > 0, table.xmin / np.where(free_w > 0, free_w, 1.0), np.nan)
        v = np.where(free_h > 0, table.ymin / np.where(free_h > 0, free_h, 1.0), np.nan)
    return u, v, valid


def _check_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D arrays of the same length, got {x.shape} and {y.shape}")
    if x.size and (not np.isfinite(x).all() or not np.isfinite(y).all()):
        raise ValueError("positions must be finite")
    if x.size and (x.min() < 0 or x.max() > 1 or y.min() < 0 or y.max() > 1):
        raise ValueError("positions must lie in [0, 1]")
    return x, y


def centre_histogram(x: np.ndarray, y: np.ndarray, bins: int = 20, density: bool = True) -> np.ndarray:
    """2-D histogram of positions in ``[0, 1]^2`` as an image ``[bins (y), bins (x)]``.

    With ``density`` the values are relative to the uniform distribution: 1 everywhere for
    perfectly uniform positions, 3 in a cell that holds three times its share.
    """
    x, y = _check_xy(x, y)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    h, _, _ = np.histogram2d(y, x, bins=int(bins), range=[[0, 1], [0, 1]])
    if density:
        h = h * (bins * bins) / max(x.size, 1)
    return h


def grid_counts(x: np.ndarray, y: np.ndarray, k: int = 3, groups: np.ndarray | None = None,
                n_groups: int | None = None) -> np.ndarray:
    """Counts of positions in the cells of a ``k x k`` grid on ``[0, 1]^2`` (value 1 goes to the last cell).

    Returns:
        ``[k * k]`` counts (row-major, y then x), or ``[n_groups, k * k]`` with ``groups``
        (an integer group id per point, e.g. the class label).
    """
    x, y = _check_xy(x, y)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an int >= 2, got {k!r}")
    cell = np.minimum((y * k).astype(np.int64), k - 1) * k + np.minimum((x * k).astype(np.int64), k - 1)
    if groups is None:
        return np.bincount(cell, minlength=k * k)
    g = np.asarray(groups).astype(np.int64)
    if g.shape != x.shape or (g.size and g.min() < 0):
        raise ValueError("groups must be non-negative integers, one per point")
    n_groups = int(g.max()) + 1 if n_groups is None else int(n_groups)
    if g.size and g.max() >= n_groups:
        raise ValueError(f"group ids must be < n_groups={n_groups}")
    return np.bincount(g * (k * k) + cell, minlength=n_groups * k * k).reshape(n_groups, k * k)


def chi2_sf(x: np.ndarray | float, dof: np.ndarray | float) -> np.ndarray:
    """Survival function ``P(X >= x)`` of the chi-square distribution with ``dof`` degrees of freedom.

    Computed as the regularised upper incomplete gamma function ``Q(dof / 2, x / 2)``
    (``torch.special.gammaincc`` in float64; no SciPy needed).
    """
    xs = torch.as_tensor(np.asarray(x, dtype=np.float64))
    ds = torch.as_tensor(np.asarray(dof, dtype=np.float64))
    if (ds <= 0).any():
        raise ValueError("dof must be positive")
    if (xs < 0).any():
        raise ValueError("chi-square statistics are non-negative")
    return torch.special.gammaincc(ds / 2, xs / 2).numpy()


def _chi2_stat(counts: np.ndarray) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    n = c.sum(-1, keepdims=True)
    e = n / c.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n[..., 0] > 0, ((c - e) ** 2 / np.where(e > 0, e, 1)).sum(-1), 0.0)


@dataclass(frozen=True)
class UniformityTest:
    """Result of one chi-square uniformity test.

    Attributes:
        statistic: Pearson's ``sum (O - E)^2 / E`` over the ``k^2`` cells.
        dof: degrees of freedom, ``k^2 - 1``.
        p_value: ``P(chi2_dof >= statistic)`` (asymptotic).
        n: number of points. counts: ``[k, k]`` cell counts (rows = y).
    """

    statistic: float
    dof: int
    p_value: float
    n: int
    counts: np.ndarray


def chi_square_uniformity(x: np.ndarray, y: np.ndarray, k: int = 3) -> UniformityTest:
    """Pearson's chi-square test that points in ``[0, 1]^2`` are uniform over a ``k x k`` grid."""
    counts = grid_counts(x, y, k)
    n = int(counts.sum())
    if n == 0:
        raise ValueError("the test needs at least one point")
    stat = float(_chi2_stat(counts))
    return UniformityTest(stat, k * k - 1, float(chi2_sf(stat, k * k - 1)), n, counts.reshape(k, k))


def monte_carlo_pvalues(statistics: np.ndarray, n: np.ndarray, cells: int, draws: int = 20000,
                        seed: int = 0) -> np.ndarray:
    """Monte Carlo p-values of chi-square statistics under uniformity, ``(1 + #{T* >= T}) / (1 + draws)``.

    For each distinct sample size ``n`` the null distribution of the statistic is simulated
    once (``draws`` multinomial samples of ``n`` points over ``cells`` equal cells), so the
    p-value is exact up to simulation error even when expected counts are small.
    """
    stats = np.asarray(statistics, dtype=np.float64)
    ns = np.asarray(n, dtype=np.int64)
    if stats.shape != ns.shape:
        raise ValueError("statistics and n must have the same shape")
    if draws < 1 or cells < 2:
        raise ValueError("draws must be >= 1 and cells >= 2")
    rng = np.random.default_rng(seed)
    out = np.ones_like(stats)
    for size in np.unique(ns):
        if size <= 0:
            continue
        null = np.sort(_chi2_stat(rng.multinomial(int(size), np.full(cells, 1.0 / cells), size=draws)))
        sel = ns == size
        # number of simulated statistics >= the observed one (with a small tolerance for ties)
        ge = draws - np.searchsorted(null, stats[sel] - 1e-9, side="left")
        out[sel] = (1 + ge) / (1 + draws)
    return out


def _check_p(p: np.ndarray, alpha: float) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or (p.size and (np.isnan(p).any() or p.min() < 0 or p.max() > 1)):
        raise ValueError("p-values must be a 1-D array of numbers in [0, 1]")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return p


def holm(p: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down procedure: which hypotheses to reject with family-wise error ``<= alpha``.

    Sort the ``m`` p-values; reject ``p_(1), ..., p_(j)`` while ``p_(i) <= alpha / (m - i + 1)``.
    """
    p = _check_p(p, alpha)
    m = p.size
    order = np.argsort(p, kind="stable")
    ok = p[order] <= alpha / (m - np.arange(m))
    n_rej = m if ok.all() else int(np.argmin(ok))
    reject = np.zeros(m, dtype=bool)
    reject[order[:n_rej]] = True
    return reject


def benjamini_hochberg(p: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Benjamini-Hochberg: which hypotheses to reject with false discovery rate ``<= alpha``.

    Reject the ``j`` smallest p-values, ``j`` the largest index with ``p_(j) <= j alpha / m``.
    """
    p = _check_p(p, alpha)
    m = p.size
    order = np.argsort(p, kind="stable")
    ok = np.flatnonzero(p[order] <= alpha * np.arange(1, m + 1) / m)
    reject = np.zeros(m, dtype=bool)
    if ok.size:
        reject[order[: ok[-1] + 1]] = True
    return reject


@dataclass
class ClassUniformity:
    """The per-class uniformity tests of one table.

    Attributes:
        labels: ``[C]`` class indices tested (classes with at least ``min_count`` points).
        n: ``[C]`` points per class. counts: ``[C, k*k]`` grid counts.
        statistic, p_value: ``[C]`` chi-square statistics and p-values (``method``).
        reject_holm, reject_bh: ``[C]`` bool, rejected after Holm / Benjamini-Hochberg at ``alpha``.
        reject_raw: ``[C]`` bool, ``p_value <= alpha`` without correction.
        k, alpha, method, positions, per_image: the settings.
        expected: ``[C, k*k]`` expected counts under the null (``None``: ``n / k^2`` each).
        dof: ``[C]`` degrees of freedom (``None``: ``k^2 - 1`` for every class).
    """

    labels: np.ndarray
    n: np.ndarray
    counts: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    reject_holm: np.ndarray
    reject_bh: np.ndarray
    reject_raw: np.ndarray
    k: int
    alpha: float
    method: str
    positions: str
    per_image: str
    expected: np.ndarray | None = None
    dof: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return int(self.labels.size)

    def summary(self) -> dict[str, float]:
        """Counts of failing classes (uncorrected, Holm, BH) and the median statistic."""
        return {"classes": self.n_classes, "fail_raw": int(self.reject_raw.sum()),
                "fail_holm": int(self.reject_holm.sum()), "fail_bh": int(self.reject_bh.sum()),
                "median_statistic": float(np.median(self.statistic)) if self.n_classes else float("nan"),
                "median_n": float(np.median(self.n)) if self.n_classes else float("nan")}

    def of(self, label: int) -> dict[str, float]:
        """The test of one class (by class index)."""
        hit = np.flatnonzero(self.labels == int(label))
        if hit.size == 0:
            raise KeyError(f"class {label} was not tested")
        i = int(hit[0])
        return {"n": int(self.n[i]), "statistic": float(self.statistic[i]), "p_value": float(self.p_value[i]),
                "reject_holm": bool(self.reject_holm[i]), "reject_bh": bool(self.reject_bh[i])}


def per_class_uniformity(table: BoxTable, k: int = 3, alpha: float = 0.05, method: str = "chi2",
                         positions_kind: str = "centre", per_image: str = "largest", min_count: int = 20,
                         min_slack: float = 0.1, draws: int = 20000, seed: int = 0) -> ClassUniformity:
    """Test, for every class, whether its box positions are uniform (see the module docstring).

    Args:
        table: the boxes (e.g. :func:`shiftlab.data.boxes.load_boxes`).
        k: grid side (``k^2`` cells).
        alpha: level of the corrected tests.
        method: ``"chi2"`` (asymptotic p-values) or ``"monte_carlo"``.
        positions_kind: ``"centre"`` or ``"free"`` (see :func:`positions`).
        per_image: ``"largest"`` or ``"first"`` (one box per image, so the points of a class
            are independent images) or ``"all"`` (every box; boxes of one image are not
            independent, so p-values are too small).
        min_count: classes with fewer valid points are not tested.
    """
    if method not in ("chi2", "monte_carlo"):
        raise ValueError(f"method must be 'chi2' or 'monte_carlo', got {method!r}")
    if per_image not in ("largest", "first", "all"):
        raise ValueError(f"per_image must be 'largest', 'first' or 'all', got {per_image!r}")
    if min_count < 1:
        raise ValueError("min_count must be positive")
    t = table if per_image == "all" else table.one_per_image(per_image)
    x, y, valid = positions(t, positions_kind, min_slack)
    n_cls = len(t.synsets)
    counts = grid_counts(x[valid], y[valid], k, groups=t.label[valid], n_groups=n_cls)
    n = counts.sum(1)
    tested = np.flatnonzero(n >= min_count)
    counts, n = counts[tested], n[tested]
    stat = _chi2_stat(counts)
    if method == "chi2":
        p = chi2_sf(stat, k * k - 1) if stat.size else np.zeros(0)
    else:
        p = monte_carlo_pvalues(stat, n, k * k, draws, seed)
    p = np.clip(p, 0.0, 1.0)
    return ClassUniformity(tested, n, counts, stat, p, holm(p, alpha), benjamini_hochberg(p, alpha), p <= alpha,
                           int(k), float(alpha), method, positions_kind, per_image)


# --------------------------------------------------------------------------- random placement


def _box_sizes(table: BoxTable) -> tuple[np.ndarray, ...]:
    """``(W, H, w, h)`` as int64 arrays; raises if a box is empty or does not fit its image."""
    big_w, big_h = table.width.astype(np.int64), table.height.astype(np.int64)
    w = (table.xmax - table.xmin).astype(np.int64)
    h = (table.ymax - table.ymin).astype(np.int64)
    if len(table) and ((w < 1).any() or (h < 1).any()):
        raise ValueError("every box must be at least one pixel wide and high")
    if len(table) and ((w > big_w).any() or (h > big_h).any()):
        raise ValueError("every box must fit in its image (box width <= image width, same for height)")
    return big_w, big_h, w, h


def simulate_placement(table: BoxTable, seed: int | np.random.Generator = 0) -> BoxTable:
    """The same boxes, placed at random: the null model of "no photographer".

    Every box keeps its image, class, width and height; its top-left corner is drawn
    uniformly from the integer positions where the box fits, ``xmin in {0, ..., W - w}`` and
    ``ymin in {0, ..., H - h}``, independently. A box as large as its image stays where it is.
    Vectorised: about 80k boxes take milliseconds.

    Args:
        table: the boxes.
        seed: an int seed or a ``numpy.random.Generator`` (same seed, same table).
    """
    big_w, big_h, w, h = _box_sizes(table)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    xmin = rng.integers(0, big_w - w + 1) if len(table) else big_w.copy()
    ymin = rng.integers(0, big_h - h + 1) if len(table) else big_h.copy()
    return BoxTable(image=table.image.copy(), label=table.label.copy(), width=table.width.copy(),
                    height=table.height.copy(), xmin=xmin.astype(np.int32),
                    ymin=ymin.astype(np.int32), xmax=(xmin + w).astype(np.int32),
                    ymax=(ymin + h).astype(np.int32), synsets=table.synsets,
                    class_names=table.class_names)


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an int >= 2, got {k!r}")
    return int(k)


def box_cells(table: BoxTable, k: int = 3) -> np.ndarray:
    """Cell of each box centre in a ``k x k`` grid (row-major, y then x), in exact integer
    arithmetic: column ``floor(k (xmin + xmax) / (2 W))``, the same rule as :func:`grid_counts`
    without its floating-point rounding at cell borders."""
    k = _check_k(k)
    _box_sizes(table)
    col = (k * (table.xmin.astype(np.int64) + table.xmax)) // (2 * table.width.astype(np.int64))
    row = (k * (table.ymin.astype(np.int64) + table.ymax)) // (2 * table.height.astype(np.int64))
    return np.minimum(row, k - 1) * k + np.minimum(col, k - 1)


def _axis_probabilities(size: np.ndarray, extent: np.ndarray, k: int) -> np.ndarray:
    """``[n, k]``: P(the centre falls in column j) for a box of ``extent`` px placed uniformly at
    the ``size - extent + 1`` integer positions of an axis of ``size`` px."""
    j = np.arange(k, dtype=np.int64)[None, :]
    s, e = size[:, None], extent[:, None]
    # column j holds the corners x with 2 s j <= k (2 x + e) < 2 s (j + 1)
    lo = -((-(2 * s * j - k * e)) // (2 * k))            # ceil((2 s j - k e) / (2 k))
    hi = (2 * s * (j + 1) - k * e - 1) // (2 * k)       # last x with k (2 x + e) < 2 s (j + 1)
    hi = np.where(j == k - 1, s - e, hi)                # the last column is closed
    count = np.clip(np.minimum(hi, s - e) - np.maximum(lo, 0) + 1, 0, None)
    return count / (s - e + 1)


def placement_cell_probabilities(table: BoxTable, k: int = 3) -> np.ndarray:
    """``[n, k * k]``: for each box, the exact probability that its centre lands in each cell
    of the ``k x k`` grid if it is placed at random (as :func:`simulate_placement`). Rows sum
    to 1; a box as large as its image has probability 1 in the cell of the image centre."""
    k = _check_k(k)
    big_w, big_h, w, h = _box_sizes(table)
    px = _axis_probabilities(big_w, w, k)
    py = _axis_probabilities(big_h, h, k)
    return (py[:, :, None] * px[:, None, :]).reshape(len(table), k * k)


def expected_grid_counts(table: BoxTable, k: int = 3, n_groups: int | None = None) -> np.ndarray:
    """Expected ``k x k`` counts of box centres per class under random placement,
    ``[n_groups, k * k]`` (default: one row per class of ``table.synsets``). Each row sums to
    the number of boxes of its class."""
    prob = placement_cell_probabilities(table, k)
    n_groups = len(table.synsets) if n_groups is None else int(n_groups)
    g = table.label.astype(np.int64)
    if g.size and (g.min() < 0 or g.max() >= n_groups):
        raise ValueError(f"class labels must lie in [0, {n_groups})")
    out = np.zeros((n_groups, prob.shape[1]))
    np.add.at(out, g, prob)
    return out


def per_class_placement_test(table: BoxTable, k: int = 3, alpha: float = 0.05,
                             per_image: str = "largest", min_count: int = 20) -> ClassUniformity:
    """Size-aware test, per class: are the box centres where random placement puts them?

    Pearson's chi-square of the observed ``k x k`` counts of the box centres (:func:`box_cells`)
    against their **exact expected counts under random placement of each box**
    (:func:`expected_grid_counts`), summed over the cells with a non-zero expectation;
    ``dof`` = number of such cells - 1 (a class whose boxes all fill their images has nothing
    to test: p = 1). Asymptotic p-values, corrected with Holm and Benjamini-Hochberg as in
    :func:`per_class_uniformity`. Calibrate it on :func:`simulate_placement`: there it
    should reject about ``alpha`` of the classes uncorrected and almost none after correction.
    """
    k = _check_k(k)
    if per_image not in ("largest", "first", "all"):
        raise ValueError(f"per_image must be 'largest', 'first' or 'all', got {per_image!r}")
    if min_count < 1:
        raise ValueError("min_count must be positive")
    t = table if per_image == "all" else table.one_per_image(per_image)
    n_cls = len(t.synsets)
    g = t.label.astype(np.int64)
    obs = np.bincount(g * (k * k) + box_cells(t, k), minlength=n_cls * k * k)
    obs = obs.reshape(n_cls, k * k)
    exp = expected_grid_counts(t, k, n_cls)
    n = obs.sum(1)
    tested = np.flatnonzero(n >= min_count)
    obs, exp, n = obs[tested], exp[tested], n[tested]
    live = exp > 1e-12
    if (obs[~live] > 0).any():
        raise ValueError("a box centre lies where random placement cannot put it")
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(live, (obs - exp) ** 2 / np.where(live, exp, 1.0), 0.0).sum(1)
    dof = live.sum(1) - 1
    p = np.ones(stat.shape)
    ok = dof > 0
    if ok.any():
        p[ok] = chi2_sf(stat[ok], dof[ok])
    p = np.clip(p, 0.0, 1.0)
    return ClassUniformity(tested, n, obs, stat, p, holm(p, alpha), benjamini_hochberg(p, alpha),
                           p <= alpha, k, float(alpha), "chi2", "placement", per_image,
                           expected=exp, dof=dof)
