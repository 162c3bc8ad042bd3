"""set_figsize, set_axes, plot and show_images, drawn with the Agg backend."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from d2lhelpers import plot, set_axes, set_figsize, show_images


@pytest.fixture(autouse=True)
def clean_pyplot():
    figsize = plt.rcParams["figure.figsize"]
    yield
    plt.close("all")
    plt.rcParams["figure.figsize"] = figsize


def test_set_figsize_changes_new_figures():
    set_figsize((4, 3))
    assert list(plt.rcParams["figure.figsize"]) == [4, 3]
    assert list(plt.figure().get_size_inches()) == [4, 3]
    set_figsize()
    assert list(plt.rcParams["figure.figsize"]) == [3.5, 2.5]


@pytest.mark.parametrize("figsize", [(0, 2), (3, -1), (3,), (1, 2, 3)])
def test_set_figsize_bad_size_raises(figsize):
    before = list(plt.rcParams["figure.figsize"])
    with pytest.raises(ValueError, match=r"set_figsize\(figsize\)"):
        set_figsize(figsize)
    assert list(plt.rcParams["figure.figsize"]) == before


def test_set_axes_applies_everything():
    ax = plt.figure().gca()
    ax.plot([1, 10], [1, 100])
    ax.plot([1, 10], [2, 50])
    set_axes(
        ax, xlabel="x", ylabel="y", xlim=(1, 10), ylim=(1, 100), xscale="log", yscale="log",
        legend=["a", "b"],
    )
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    assert ax.get_xlim() == (1, 10) and ax.get_ylim() == (1, 100)
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert all(line.get_visible() for line in ax.xaxis.get_gridlines())


def test_set_axes_defaults_leave_no_legend():
    ax = plt.figure().gca()
    set_axes(ax)
    assert ax.get_legend() is None
    assert ax.get_xlabel() == "" and ax.get_xscale() == "linear"


def test_plot_one_curve():
    x = np.linspace(0, 1, 5)
    ax = plot(x, x**2, xlabel="x", ylabel="f(x)", xlim=(0, 1))
    assert len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_xdata(), x)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), x**2)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_xlim()) == ("x", "f(x)", (0, 1))


def test_plot_several_curves_share_x_and_cycle_formats():
    x = torch.arange(4.0)
    ys = [x, 2 * x, 3 * x, 4 * x, 5 * x]
    ax = plot(x, ys, legend=[f"{k}x" for k in range(1, 6)])
    assert len(ax.lines) == 5
    for k, line in enumerate(ax.lines, start=1):
        np.testing.assert_allclose(line.get_xdata(), [0, 1, 2, 3])
        np.testing.assert_allclose(line.get_ydata(), k * np.arange(4.0))
    # DEFAULT_FMTS = ("-", "m--", "g-.", "r:"), used in turn.
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--", "-.", ":", "-"]
    assert to_rgba(ax.lines[1].get_color()) == to_rgba("m")
    assert to_rgba(ax.lines[3].get_color()) == to_rgba("r")
    assert len(ax.get_legend().get_texts()) == 5


def test_plot_2d_tensor_is_one_curve_per_row():
    Y = torch.tensor([[0.0, 1.0, 2.0], [5.0, 4.0, 3.0]], requires_grad=True)
    ax = plot(torch.tensor([1.0, 2.0, 3.0]), Y * 1)  # a tensor that requires grad is detached
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [5, 4, 3])


def test_plot_y_only_uses_indices_as_x():
    ax = plot([3.0, 1.0, 2.0])
    assert len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [3, 1, 2])
    ax = plot([[1.0, 2.0], [3.0, 4.0, 5.0]])  # curves of different lengths
    assert [len(line.get_xdata()) for line in ax.lines] == [2, 3]


def test_plot_pairs_x_and_y_sequences():
    ax = plot([[0, 1], [10, 11, 12]], [[5, 6], [7, 8, 9]])
    np.testing.assert_allclose(ax.lines[1].get_xdata(), [10, 11, 12])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [7, 8, 9])


def test_plot_into_given_axes_and_figsize():
    fig, (left, right) = plt.subplots(1, 2)
    assert plot([1, 2], [3, 4], axes=right) is right
    assert len(right.lines) == 1 and len(left.lines) == 0
    ax = plot([1, 2], [3, 4], figsize=(5, 2), yscale="log")
    assert list(ax.figure.get_size_inches()) == [5, 2]
    assert ax.get_yscale() == "log"


def test_plot_mismatched_number_of_sequences_raises():
    with pytest.raises(ValueError, match=r"plot\(X, Y\): got 2 x sequences for 3 curves"):
        plot([[1, 2], [1, 2]], [[1, 2], [1, 2], [1, 2]])


def test_plot_mismatched_lengths_raises():
    with pytest.raises(ValueError, match=r"plot\(X, Y\): x has 3 values but its curve has 2"):
        plot([1, 2, 3], [1, 2])


def test_show_images_grid_titles_and_layouts():
    gray = torch.rand(6, 5, 4)  # (N, H, W)
    axes = show_images(gray, 2, 3, titles=list("abcdef"), scale=2)
    assert axes.shape == (2, 3)
    assert list(axes[0, 0].figure.get_size_inches()) == [6, 4]
    for ax, image, title in zip(axes.flat, gray, "abcdef"):
        assert ax.get_title() == title
        assert not ax.axison
        (shown,) = ax.get_images()
        np.testing.assert_allclose(shown.get_array(), image.numpy())
        assert shown.get_cmap().name == "gray"


def test_show_images_channel_layouts():
    one = torch.rand(2, 1, 5, 4)  # (N, 1, H, W)
    axes = show_images(one, 1, 2)
    assert axes[0, 0].get_images()[0].get_array().shape == (5, 4)
    rgb = torch.rand(2, 3, 5, 4)  # (N, 3, H, W) -> (H, W, 3)
    axes = show_images(rgb, 1, 2)
    shown = axes[0, 1].get_images()[0].get_array()
    assert shown.shape == (5, 4, 3)
    np.testing.assert_allclose(shown, rgb[1].permute(1, 2, 0).numpy())


def test_show_images_more_or_fewer_images_than_cells():
    axes = show_images(torch.rand(10, 3, 3), 1, 3, titles=[str(i) for i in range(10)])
    assert [len(ax.get_images()) for ax in axes.flat] == [1, 1, 1]
    axes = show_images([np.zeros((3, 3)), np.ones((3, 3))], 2, 2, titles=["a", "b"])
    assert [len(ax.get_images()) for ax in axes.flat] == [1, 1, 0, 0]
    assert [ax.get_title() for ax in axes.flat] == ["a", "b", "", ""]
    assert not any(ax.axison for ax in axes.flat)


def test_show_images_too_few_titles_raises():
    with pytest.raises(ValueError, match=r"show_images\(titles\): 4 images but only 3 titles"):
        show_images(torch.rand(4, 3, 3), 2, 2, titles=["a", "b", "c"])


@pytest.mark.parametrize(("rows", "cols"), [(0, 2), (2, 0), (-1, 1)])
def test_show_images_empty_grid_raises(rows, cols):
    with pytest.raises(ValueError, match=r"show_images\(num_rows, num_cols\): grid must be"):
        show_images(torch.rand(2, 3, 3), rows, cols)


@pytest.mark.parametrize("figsize", [5, (3, "a"), (3,), (True, 2)])
def test_set_figsize_rejects_malformed_sizes(figsize):
    with pytest.raises(ValueError, match="figsize"):
        set_figsize(figsize)


def test_show_heatmaps_grid_labels_titles_and_one_colour_scale():
    from d2lhelpers import show_heatmaps

    matrices = torch.rand(2, 3, 4, 5)  # (R, C, Q, K)
    matrices[1, 2, 0, 0] = 2.0
    fig = show_heatmaps(matrices, "keys", "queries", titles=["a", "b", "c"], figsize=(6, 4))
    assert list(fig.get_size_inches()) == [6, 4]
    *maps, bar = fig.axes
    assert len(maps) == 6
    for i, ax in enumerate(maps):
        (image,) = ax.get_images()
        np.testing.assert_allclose(image.get_array(), matrices[i // 3, i % 3].numpy())
        assert image.get_clim() == (float(matrices.min()), 2.0)  # one scale for all
        assert image.get_cmap().name == "Reds"
        assert ax.get_title() == ("abc"[i % 3] if i < 3 else "")  # titles on the top row
        assert all(float(t).is_integer() for t in ax.get_xticks())
        assert ax.get_xlabel() == ("keys" if i >= 3 else "")
        assert ax.get_ylabel() == ("queries" if i % 3 == 0 else "")
    assert bar.get_ylim() == (float(matrices.min()), 2.0)


def test_show_heatmaps_accepts_arrays_and_rejects_bad_input():
    from d2lhelpers import show_heatmaps

    fig = show_heatmaps(np.eye(3)[None, None], "x", "y", cmap="Blues")
    assert fig.axes[0].get_images()[0].get_cmap().name == "Blues"
    with pytest.raises(ValueError, match=r"show_heatmaps\(matrices\): expected a non-empty"):
        show_heatmaps(torch.rand(3, 4), "x", "y")
    with pytest.raises(TypeError, match=r"show_heatmaps\(matrices\)"):
        show_heatmaps([[[[1.0]]]], "x", "y")
    with pytest.raises(ValueError, match=r"show_heatmaps\(titles\): expected 2 titles"):
        show_heatmaps(torch.rand(1, 2, 3, 3), "x", "y", titles=["only one"])
