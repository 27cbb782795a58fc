"""The drawn diagrams: at most the book's width, the expected panels and artists, and the
numbers in them computed by the package's layers (APS's choice, the layers' shapes)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.patches import FancyArrowPatch, Rectangle

from shiftlab.core.shifts import translate
from shiftlab.measure.protocols import PROTOCOLS
from shiftlab.nn.aps import aps_index
from shiftlab.viz import schematics as S
from shiftlab.viz.plotting import BOOK_WIDTH


def fits(fig) -> bool:
    return fig.get_size_inches()[0] <= BOOK_WIDTH + 1e-9


def test_pooling_phase_colours_match_the_window_geometry():
    fig = S.pooling_phase()
    assert fits(fig) and len(fig.axes) == 4 and fig.legends
    for ax, (i, j) in zip(fig.axes, [(0, 0), (0, 1), (1, 0), (1, 1)]):
        arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
        assert len(arrows) == 8
        colours = [a.get_gid() for a in arrows]
        # a shift keeps the 2x2 max pool's output iff the feature stays in its window
        expected = ["stays" if 0 <= i + dy < 2 and 0 <= j + dx < 2 else "leaves" for dx, dy in S.one_pixel_shifts()]
        assert colours == expected and colours.count("stays") == 3
        assert f"({i}, {j})" in ax.get_title() and ax.get_xlabel()
    fig.canvas.draw()
    plt.close(fig)
    three = S.pooling_phase(3)
    assert len(three.axes) == 9 and fits(three)
    plt.close(three)
    with pytest.raises(ValueError):
        S.pooling_phase(4)


def aps_picks(fig) -> dict[str, int]:
    picks = [ax.get_label().split() for ax in fig.axes if ax.get_gid() == "aps-pick"]
    assert sorted(tag for tag, _ in picks) == ["after", "before"]  # one framed component per row
    return {tag: int(k) for tag, k in picks}


@pytest.mark.parametrize("x", [None, torch.arange(16.0).reshape(4, 4),
                               torch.rand(8, 6, generator=torch.Generator().manual_seed(5))])
def test_polyphase_highlight_is_the_aps_choice(x):
    fig = S.polyphase_components(x)
    assert fits(fig) and len(fig.axes) == 10
    m = S._default_map() if x is None else x
    picks = aps_picks(fig)
    assert picks["before"] == int(aps_index(m[None, None])[0])
    assert picks["after"] == int(aps_index(translate(m, 1, 0, "circular")[None, None])[0])
    assert picks["after"] == picks["before"] ^ 1  # dx = 1 swaps the column phase j of the kept component
    plt.close(fig)


def test_polyphase_shift_moves_the_pick():
    x = torch.zeros(6, 6)
    x[1::2, 0::2] = 5.0  # component (1, 0) holds everything
    fig = S.polyphase_components(x, shift=(1, 1))
    assert aps_picks(fig) == {"before": 2, "after": 1}  # (1, 0) -> (0, 1) after a diagonal shift
    plt.close(fig)
    with pytest.raises(ValueError, match="even"):
        S.polyphase_components(torch.rand(5, 6))
    with pytest.raises(ValueError, match="2-D"):
        S.polyphase_components(torch.rand(1, 6, 6))


def test_blurpool_block_labels_the_layer_shapes():
    fig = S.blurpool_block()
    ax, = fig.axes
    assert fits(fig)
    assert sum(p.get_gid() == "block" for p in ax.patches) == 4
    shapes = [t.get_text() for t in ax.texts if t.get_gid() == "shape"]
    assert shapes == ["C × 28 × 28", "C × 14 × 14", "C × 28 × 28", "C × 27 × 27", "C × 27 × 27", "C × 14 × 14"]
    assert any("[1, 2, 1]" in t.get_text() for t in ax.texts)
    plt.close(fig)
    fig = S.blurpool_block(size=32, channels="64", filter_size=4)
    shapes = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "shape"]
    assert shapes[-1] == "64 × 16 × 16" and shapes[1] == "64 × 16 × 16"
    assert any("[1, 3, 3, 1]" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_shift_protocols_draw_three_windows_per_protocol():
    fig = S.shift_protocols()
    assert fits(fig) and len(fig.axes) == 3 and fig.legends
    for ax, protocol in zip(fig.axes, PROTOCOLS):
        assert ax.get_title().startswith(protocol)
        rects = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(rects) == (3 if protocol == "crop" else 4)  # windows (+ the photo's box)
        assert {r.get_width() for r in rects[:3]} == {224}
        assert ax.images[0].get_array().shape[:2] == (256, 256)
    plt.close(fig)
    small = S.shift_protocols(torch.randint(0, 256, (3, 50, 40), dtype=torch.uint8), out_size=32, max_shift=4,
                              embed_size=24)
    assert small.axes[0].images[0].get_array().shape[:2] == (40, 40)
    plt.close(small)


def test_synthetic_photo():
    p = S.synthetic_photo(60, 80)
    assert p.shape == (3, 60, 80) and p.dtype == torch.uint8 and p.float().std() > 10
    with pytest.raises(ValueError):
        S.synthetic_photo(10, 10)
