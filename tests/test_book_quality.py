"""What the reader sees, checked on the committed (full-mode) notebooks.

* every glued number is finite, in the range of its kind, and no non-zero number is printed
  so that it reads as zero;
* figures are designed for the ~735 px text column (at most ~8.5 inches wide);
* code lines fit in the page; chapters share one skeleton; exercise solutions are folded,
  code and output;
* the setup cell prints no machine-specific paths.
"""

from __future__ import annotations

import base64
import math
import re
import struct

import pytest
from notebook_outputs import NOTEBOOKS, glued
from notebook_outputs import load as _load
from notebook_outputs import src as _src

from shiftlab.core.glue import GLUE_KINDS, GLUE_PREFIX

MAX_FIG_INCHES = 8.5
MAX_CODE_LINE = 90


def _png_size_inches(data: str) -> float:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width = struct.unpack(">I", raw[16:20])[0]
    dpi = 100.0  # matplotlib's default when no pHYs chunk is written
    pos = 8
    while pos < len(raw):
        length, ctype = struct.unpack(">I4s", raw[pos:pos + 8])
        if ctype == b"pHYs":
            ppu_x, _, unit = struct.unpack(">IIB", raw[pos + 8:pos + 17])
            if unit == 1:  # pixels per metre
                dpi = ppu_x * 0.0254
            break
        if ctype == b"IDAT":
            break
        pos += 12 + length
    return width / dpi


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glued_numbers_are_finite_and_in_range(path):
    values = glued(path)
    assert values, "a chapter glues its key numbers"
    for name, (value, kind) in values.items():
        if isinstance(value, float):
            assert math.isfinite(value), f"{name} = {value}"
        if kind is not None:
            low, high = GLUE_KINDS[kind]
            assert isinstance(value, float) and low <= value <= high, f"{name} ({kind}) = {value}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glue_references_exist_and_do_not_read_as_zero(path):
    values = glued(path)
    for cell in _load(path)["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for ref in re.findall(r"\{glue(?::text)?\}`([^`]+)`", _src(cell)):
            name, _, fmt = ref.partition(":")
            assert name in values, f"{name} is used in the prose but never glued"
            value = values[name][0]
            if not fmt or not isinstance(value, float):
                continue
            shown = format(value, fmt)
            digits = re.sub(r"e[+-]\d+", "", shown)
            if value != 0:
                assert re.search(r"[1-9]", digits), f"{name} = {value!r} reads as {shown!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_fit_the_text_column(path):
    for i, cell in enumerate(_load(path)["cells"]):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for key in ("image/png", GLUE_PREFIX + "image/png"):
                if key in data:
                    inches = _png_size_inches(data[key])
                    assert inches <= MAX_FIG_INCHES, f"cell {i}: figure {inches:.1f} in wide"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    for i, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] == "code":
            for line in _src(cell).split("\n"):
                assert len(line) <= MAX_CODE_LINE, f"cell {i}: {len(line)} chars: {line[:60]}..."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_skeleton_and_folded_solutions(path):
    cells = _load(path)["cells"]
    heads = [(i, h) for i, c in enumerate(cells) if c["cell_type"] == "markdown"
             for h in re.findall(r"^## (.+)$", _src(c), flags=re.M)]
    names = [h for _, h in heads]
    for required in ("What you will learn", "What we learned", "Exercises"):
        assert required in names, f"missing '## {required}'"
    assert names[0] == "What you will learn", "the chapter opens with what you will learn"
    assert names[-2:] == ["What we learned", "Exercises"], "it closes with the summary, then exercises"
    start = next(i for i, h in heads if h == "Exercises")
    solutions = [c for c in cells[start:] if c["cell_type"] == "code"]
    assert solutions, "exercise answers are checked by code"
    for c in solutions:
        assert "hide-cell" in c["metadata"].get("tags", []), "solution code and output folded"
    text = "".join(_src(c) for c in cells[start:] if c["cell_type"] == "markdown")
    assert ":class: dropdown" in text, "written solutions folded in a dropdown"
    summary = next(_src(c) for c in cells if "## What we learned" in _src(c))
    assert "{glue" in summary, "the summary quotes glued numbers"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_report_prints_no_paths(path):
    code = [c for c in _load(path)["cells"] if c["cell_type"] == "code"]
    text = "".join("".join(o.get("text", "")) for o in code[0].get("outputs", []))
    assert "mode: FULL" in text, "committed in full mode, with the brief report"
    assert not re.search(r"(^|\s)(/|~/|[A-Z]:\\)\w", text), f"a path in the report: {text}"


#: every explorer of the book and where it lives; each must also play without a kernel
ANIMATIONS = {"02_equivariance": 1, "03_pooling": 1, "05_mnist_pooling": 1, "06_augmentation": 1,
              "07_imagenet_shifts": 1,
              "08_sampling_theorem": 2}
MAX_ANIMATION_BYTES = 1_500_000


def _animation_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if "explorer-animation" in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_explorer_plays_without_a_kernel(path):
    """Each explorer cell (ipywidgets, live only with a kernel) is followed in its chapter by a
    cell tagged ``explorer-animation`` whose committed output is a self-contained jshtml player
    (frames and player script inside the page, under the page-weight budget)."""
    nb = _load(path)
    cells = _animation_cells(nb)
    assert len(cells) == ANIMATIONS.get(path.stem, 0), f"{len(cells)} animation cells"
    widgets = sum("_explorer(" in _src(c) for c in nb["cells"] if c["cell_type"] == "code")
    assert len(cells) >= widgets, "an ipywidgets explorer without a static player"
    for cell in cells:
        html = "".join("".join(o.get("data", {}).get("text/html", ""))
                       for o in cell.get("outputs", []))
        assert "new Animation(" in html, "no jshtml player in the committed output"
        frames = len(re.findall(r"frames\[\d+\] = \"data:image/", html))
        assert frames >= 2, f"{frames} frames"
        assert len(html.encode()) <= MAX_ANIMATION_BYTES, f"{len(html.encode())} bytes"
