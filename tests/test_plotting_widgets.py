import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from shiftlab.measure.equivariance import make_conv
from shiftlab.viz import plotting, widgets


def test_show_image_and_values_set_titles_and_labels():
    _, (a, b) = plt.subplots(1, 2)
    plotting.show_image(a, torch.rand(5, 5), "t", colorbar="u")
    plotting.show_values(b, torch.rand(3), "v", highlight=torch.tensor([True, False, True]).numpy())
    assert a.get_title() == "t" and a.get_xlabel() == "x (pixels)" and b.get_title() == "v"
    with pytest.raises(ValueError):
        plotting.show_image(a, torch.rand(2, 3, 4), "bad")
    with pytest.raises(ValueError):
        plotting.image_row([torch.rand(3, 3)], ["a", "b"], "s")
    plt.close("all")


def test_image_row():
    fig = plotting.image_row([torch.rand(4, 4), torch.rand(4, 4)], ["a", "b"], "both")
    assert len(fig.axes) == 2 and fig._suptitle.get_text() == "both"
    plt.close(fig)


def test_image_row_fits_the_book_column_and_wraps():
    fig = plotting.image_row([torch.rand(4, 4)] * 9, list("abcdefghi"), "nine")
    width, _ = fig.get_size_inches()
    assert width <= plotting.BOOK_WIDTH + 1e-9
    assert sum(ax.get_visible() and ax.axison for ax in fig.axes) == 9  # 2 rows of 6, 3 blank
    assert len(fig.axes) == 12
    with pytest.raises(ValueError):
        plotting.image_row([], [], "none")
    with pytest.raises(ValueError):
        plotting.image_row([torch.rand(2, 2)], ["a"], "x", max_cols=0)
    plt.close(fig)


def test_use_book_style_sets_readable_sizes():
    with matplotlib.rc_context():
        plotting.use_book_style()  # outside IPython: sizes only, no error
        assert plt.rcParams["figure.figsize"][0] <= plotting.BOOK_WIDTH
        assert plt.rcParams["font.size"] >= 9


def test_shift_heatmap_without_colorbar_returns_the_image():
    fig, ax = plt.subplots()
    g = torch.tensor([[dx, dy] for dy in range(-1, 2) for dx in range(-1, 2)])
    im = plotting.shift_heatmap(ax, torch.rand(9), g, "t", None)
    assert len(fig.axes) == 1 and im.get_array().shape == (3, 3)
    assert all(float(t).is_integer() for t in ax.get_xticks())
    plt.close(fig)


def test_explorer_figures_fit_the_book_column():
    fig = widgets.plot_equivariance(torch.rand(28, 28), make_conv(1, 2, 3), 2, 1)
    assert fig.get_size_inches()[0] <= plotting.BOOK_WIDTH
    fig2 = widgets.plot_pooling(1, 0)
    assert fig2.get_size_inches()[0] <= plotting.BOOK_WIDTH
    plt.close("all")


def test_plots_and_explorers_draw_a_static_figure():
    img = torch.rand(16, 16)
    fig = widgets.plot_equivariance(img, make_conv(), 2, 1)
    assert len(fig.axes) == 8  # 4 panels + 4 colour bars
    assert "change" in widgets.plot_pooling(0, 1)._suptitle.get_text()
    plt.close("all")
    w = widgets.pooling_explorer()
    assert plt.get_fignums(), "the static figure must be drawn before the widget"
    static = plt.figure(plt.get_fignums()[0])
    assert "(0, 1)" in static._suptitle.get_text()
    sliders = w.children[0].children
    assert [s.description for s in sliders] == ["dx (px)", "dy (px)"] and sliders[1].value == 1
    w2 = widgets.equivariance_explorer(img, make_conv(), max_shift=4)
    assert w2.children[0].children[1].max == 4


def test_slider_view_is_a_line_of_text_in_the_books_run(monkeypatch):
    """A widget saved by the book's run has no state and renders as an empty box: there the
    view is a note naming its sliders, and nothing is drawn."""
    monkeypatch.setenv("SHIFTLAB_BOOK_RUN", "1")
    calls = []
    view = widgets.slider_view(lambda a: calls.append(a), a=dict(value=1, min=0, max=3, description="dx"))
    assert isinstance(view, widgets.StaticNote) and calls == []
    assert "sliders for a" in repr(view) and view._repr_markdown_().startswith("*Interactive")
    monkeypatch.setenv("SHIFTLAB_BOOK_RUN", "0")
    assert not isinstance(widgets.slider_view(lambda a: None, a=dict(value=1)), widgets.StaticNote)


def test_slider_view_redraws_on_change():
    calls = []
    view = widgets.slider_view(lambda a, b: calls.append((a, b)) or plt.figure(),
                               a=dict(value=1, min=0, max=3), b=dict(value=2, min=0, max=3))
    assert calls == []  # nothing drawn at creation: the caller draws the static figure
    view.children[0].children[0].value = 3
    assert calls == [(3, 2)]
    plt.close("all")
    plt.close("all")


def test_shift_heatmap_places_values_at_their_shifts():
    from shiftlab.core.shifts import shift_grid

    g = shift_grid(1)
    vals = torch.arange(9, dtype=torch.float32)
    fig, ax = plt.subplots()
    plotting.shift_heatmap(ax, vals, g, "t", "acc")
    grid = ax.images[0].get_array()
    assert grid[0, 2] == 2.0 and grid[2, 0] == 6.0  # (dx=1, dy=-1) and (dx=-1, dy=1)
    assert ax.get_xlabel().startswith("dx")
    with pytest.raises(ValueError):
        plotting.shift_heatmap(ax, vals[:3], g, "t", "acc")
    plt.close(fig)


def test_markdown_table():
    md = plotting.markdown_table([[1, "a"], [2, "b"]], ["n", "s"])
    assert md.data.splitlines()[0] == "| n | s |" and "| 2 | b |" in md.data
    with pytest.raises(ValueError):
        plotting.markdown_table([[1]], ["n", "s"])
