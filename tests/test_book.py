"""The notebook conventions, checked on every committed notebook."""

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from shiftlab.core import glue as glue_mod
from shiftlab.tools import notebooks as book

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_repository_url_is_read_from_config():
    url = book.repository_url(ROOT)
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert url == cfg["repository"]["url"].rstrip("/")
    assert cfg["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert cfg["execute"]["execute_notebooks"] == "off"


def test_project_root_errors_outside_repo(tmp_path):
    with pytest.raises(FileNotFoundError):
        book.project_root(tmp_path)


def test_setup_source_is_idempotent_code():
    src = book.setup_source("https://github.com/a/b")
    compile(src, "setup", "exec")
    assert "--no-deps" in src and "find_spec" in src and "doctor" in src and "seed_everything" in src
    assert "SHIFTLAB_INSTALL" in src, "the install source can be overridden (tests/test_colab_style.py uses it)"


def test_setup_source_lines_fit_the_page():
    assert max(len(line) for line in book.setup_source("https://github.com/a/b").split("\n")) <= 90


def test_badge_and_glue():
    badge = book.colab_badge("https://github.com/a/b", "notebooks/x.ipynb")
    assert "colab.research.google.com/github/a/b/blob/main/notebooks/x.ipynb" in badge
    glue_mod.glue("unit_test_value", 1.5)  # must not raise with or without myst-nb
    glue_mod.glue("unit_test_fraction", 0.25, kind="fraction")
    glue_mod.glue("unit_test_count", 3, kind="count")


@pytest.mark.parametrize("value, kind, error", [
    (1.5, "fraction", ValueError), (-0.1, "accuracy", ValueError), (101.0, "percent", ValueError),
    (float("nan"), "nonneg", ValueError), (2.5, "count", ValueError), ("text", "fraction", TypeError),
    (True, "count", TypeError), (0.5, "no-such-kind", ValueError),
])
def test_glue_rejects_values_outside_their_kind(value, kind, error):
    with pytest.raises(error):
        glue_mod.glue("bad", value, kind=kind)


def test_glue_writes_plain_numbers_and_the_kind(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, raw, metadata: shown.append((data, metadata)))
    import numpy as np

    glue_mod.glue("x", np.float64(0.5), kind="fraction")
    data, meta = shown[0]
    assert data[glue_mod.GLUE_PREFIX + "text/plain"] == "0.5"  # not np.float64(0.5)
    assert meta["scrapbook"]["name"] == "x" and meta["shiftlab"]["kind"] == "fraction"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), "title first"
    url = book.repository_url(ROOT)
    assert book.colab_badge(url, f"notebooks/{path.name}") in first, "badge stamped from _config.yml"
    code = [c for c in cells if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]) == book.setup_source(url), "setup cell stamped from _config.yml"
    counts = [c["execution_count"] for c in code]
    assert all(n is not None for n in counts), "every code cell executed"
    assert counts == sorted(counts) and counts[0] == 1, "executed top to bottom in one run"
    for c in code:
        for out in c.get("outputs", []):
            assert out["output_type"] != "error", "no error outputs"
            text = "".join(out.get("text", ""))
            assert "mode: QUICK" not in text, "committed in full mode"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for i, c in enumerate(code):
        # nbval's markers live in the cell tags (nbval-check-output, ...), where no reader sees them
        assert not re.search(r"^\s*#\s*NBVAL_", "".join(c["source"]), re.M), f"code cell {i}: use a tag"
    checked = [c for c in code if "nbval-check-output" in c.get("metadata", {}).get("tags", [])]
    assert checked, "at least one cell's output is checked exactly by nbval (tag nbval-check-output)"


def test_every_notebook_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc


def test_execute_notebook_keeps_shown_figures_and_restores_the_environment(tmp_path, monkeypatch):
    """A test environment's MPLBACKEND=Agg must not reach the kernel: plt.show() keeps its PNG."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nprint(os.environ['SHIFTLAB_QUICK'], "
                                          "os.environ['TQDM_DISABLE'], os.environ['SHIFTLAB_BOOK_RUN'])"),
                nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()")]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for k in ("SHIFTLAB_QUICK", "TQDM_DISABLE", "SHIFTLAB_BOOK_RUN"):
        monkeypatch.delenv(k, raising=False)
    assert book.execute_notebook(path, quick=True, timeout=120) > 0
    out = nbformat.read(path, as_version=4)
    assert out.cells[0].outputs[0]["text"].split() == ["1", "1", "1"]   # quick, no bars, book run
    assert any("image/png" in o.get("data", {}) for o in out.cells[1].outputs)
    assert os.environ["MPLBACKEND"] == "Agg" and "SHIFTLAB_QUICK" not in os.environ
    assert "TQDM_DISABLE" not in os.environ and "SHIFTLAB_BOOK_RUN" not in os.environ


BIB = ROOT / "book" / "references.bib"
VENUE_FIELDS = ("journal", "booktitle", "publisher", "howpublished")


def test_every_bib_entry_is_complete():
    """Authors, a year, a venue and a DOI or URL; no "n.d." and no notes about how the course was
    built (they render in the reference list)."""
    from pybtex.database import parse_file

    entries = parse_file(str(BIB)).entries
    assert len(entries) >= 10
    for key, entry in entries.items():
        fields = {k.lower(): str(v) for k, v in entry.fields.items()}
        assert entry.persons.get("author"), f"{key}: no author"
        assert re.fullmatch(r"(19|20)\d\d", fields.get("year", "")), f"{key}: year {fields.get('year')!r}"
        assert any(fields.get(f) for f in VENUE_FIELDS), f"{key}: no venue ({', '.join(VENUE_FIELDS)})"
        assert fields.get("doi") or fields.get("url", "").startswith("https://"), f"{key}: no DOI or URL"
        text = " ".join(fields.values()).lower()
        for phrase in ("n.d.", "this course", "not recorded", "copy"):
            assert phrase not in text, f"{key}: {phrase!r} does not belong in a reference"


def test_citations_name_the_authors_once():
    """Where a sentence names the authors, the citation is {cite:t} (author_year style would
    print the names twice), and every cited key is in the .bib."""
    from pybtex.database import parse_file

    entries = parse_file(str(BIB)).entries
    surname = {k: " ".join(e.persons["author"][0].last_names) for k, e in entries.items()}
    sources = [(p.name, "".join(c["source"])) for p in NOTEBOOKS
               for c in json.loads(p.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown"]
    sources += [(p.name, p.read_text(encoding="utf-8")) for p in (ROOT / "book").glob("*.md")]
    for name, text in sources:
        for m in re.finditer(r"\{cite(:[tp])?\}`([^`]+)`", text):
            keys = [k.strip() for k in m.group(2).split(",")]
            for key in keys:
                assert key in entries, f"{name}: {key!r} is not in references.bib"
            before = text[max(0, m.start() - 50):m.start()]
            if m.group(1) is None and len(keys) == 1:
                assert not re.search(re.escape(surname[keys[0]]) + r"[^.;:()]*$", before), (
                    f"{name}: {before[-40:]!r} names the authors before {{cite}}: use {{cite:t}}")
