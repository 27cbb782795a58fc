"""The ImageNet validation box table that ships inside the package."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from shiftlab.data import boxes
from shiftlab.data.boxes import BoxTable, load_boxes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def table() -> BoxTable:
    return load_boxes()


def test_packaged_files_exist_and_are_declared_as_package_data():
    assert boxes.data_file(boxes.BOXES_FILE).stat().st_size == 1040342
    assert boxes.data_file("PROVENANCE.md").is_file()
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "shiftlab.data.files" in cfg["packages"]
    assert {"*.csv.gz", "*.txt", "*.md"} <= set(cfg["package-data"]["shiftlab.data.files"])


def test_row_image_and_class_counts(table):
    assert len(table) == boxes.N_BOXES == 80477
    assert table.n_images == boxes.N_IMAGES == 50000
    assert np.array_equal(np.unique(table.image), np.arange(1, 50001))
    per_class = np.bincount(table.one_per_image("first").label, minlength=1000)
    assert per_class.shape == (1000,) and (per_class == 50).all()
    assert (np.bincount(table.image)[1:] == 1).sum() == 38285  # images with a single box
    assert np.bincount(table.image).max() == 20


def test_value_ranges(table):
    assert table.label.min() == 0 and table.label.max() == 999
    assert (table.xmin >= 0).all() and (table.ymin >= 0).all()
    assert (table.xmax <= table.width).all() and (table.ymax <= table.height).all()
    assert (table.xmax > table.xmin).all() and (table.ymax > table.ymin).all()
    for v in (table.cx, table.cy):
        assert 0 < v.min() and v.max() < 1
    for v in (table.rel_width, table.rel_height, table.area_fraction):
        assert 0 < v.min() and v.max() <= 1
    assert table.cx.mean() == pytest.approx(0.5006, abs=5e-5)
    assert table.cy.mean() == pytest.approx(0.5136, abs=5e-5)


def test_first_row_matches_the_official_annotation(table):
    assert table.image[0] == 1 and table.synsets[table.label[0]] == "n01751748"
    assert (table.width[0], table.height[0]) == (500, 375)
    assert (table.xmin[0], table.ymin[0], table.xmax[0], table.ymax[0]) == (111, 108, 441, 193)


def test_synsets_and_names(table):
    syn, names = boxes.load_synsets()
    assert len(syn) == 1000 and syn[0] == "n01440764" and names[0].startswith("tench")
    assert table.synsets == syn


def test_class_lookup(table):
    i = table.class_index("Tibetan terrier")
    assert table.synsets[i] == "n02097474" and table.class_index("n02097474") == i == table.class_index(i)
    assert table.short_name(table.class_index("paddle")) == "paddle"  # exact synonym beats 'paddlewheel'
    assert table.synsets[table.class_index("bagel")] == "n07693725"
    assert len(table.for_class("pineapple").one_per_image()) == 50
    for bad in ("terrier", "no such thing", 1000, -1, ""):
        with pytest.raises(KeyError):
            table.class_index(bad)


def test_arrays_are_read_only_and_loading_is_cached(table):
    with pytest.raises(ValueError):
        table.xmin[0] = 3
    assert load_boxes() is table


def _write(path: Path, rows: list[str], header: str = "image_id,synset,width,height,xmin,ymin,xmax,ymax") -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join([header] + rows) + "\n")
    return path


def test_one_per_image_largest_and_first(tmp_path):
    path = _write(tmp_path / "b.csv.gz", [
        "ILSVRC2012_val_00000007,n01440764,100,100,0,0,10,10",
        "ILSVRC2012_val_00000007,n01440764,100,100,0,0,50,50",
        "ILSVRC2012_val_00000003,n01443537,100,80,10,10,20,20",
    ])
    t = load_boxes(path)
    assert len(t) == 3 and t.n_images == 2
    big = t.one_per_image("largest")
    assert sorted(zip(big.image.tolist(), big.xmax.tolist())) == [(3, 20), (7, 50)]
    first = t.one_per_image("first")
    assert sorted(zip(first.image.tolist(), first.xmax.tolist())) == [(3, 20), (7, 10)]
    assert t.cy[2] == pytest.approx(15 / 80)
    with pytest.raises(ValueError):
        t.one_per_image("smallest")


@pytest.mark.parametrize("rows,header", [
    (["ILSVRC2012_val_00000001,n01440764,100,100,0,0,101,10"], None),   # outside the image
    (["ILSVRC2012_val_00000001,n01440764,100,100,5,0,5,10"], None),     # degenerate
    (["ILSVRC2012_val_00000001,n99999999,100,100,0,0,10,10"], None),    # unknown synset
    (["img1,n01440764,100,100,0,0,10,10"], None),                        # bad id
    (["ILSVRC2012_val_00000001,n01440764,100,100,0,0,10,10"], "id,synset,w,h,a,b,c,d"),
])
def test_malformed_tables_are_rejected(tmp_path, rows, header):
    path = _write(tmp_path / "bad.csv.gz", rows, **({"header": header} if header else {}))
    with pytest.raises(ValueError):
        load_boxes(path)


def test_missing_and_damaged_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_boxes(tmp_path / "nope.csv.gz")
    bad = tmp_path / "broken.csv.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError):
        load_boxes(bad)
