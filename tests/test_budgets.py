"""The instructors' table (shiftlab.studies.budgets): one row per chapter, its budgets written
from the studies' full-mode settings, shown verbatim on the instructors page."""

from __future__ import annotations

from pathlib import Path

from shiftlab.studies import budgets

ROOT = Path(__file__).resolve().parents[1]


def test_one_row_per_chapter_in_order():
    chapters = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [r.chapter for r in budgets.budgets()] == chapters


def test_the_instructors_page_shows_the_table_verbatim():
    page = (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    assert budgets.markdown() in page
    assert page.count("| chapter |") == 1          # no second, hand-written table beside it


def test_rows_follow_the_settings(monkeypatch):
    rows = {r.chapter: r for r in budgets.budgets()}
    assert "18 MNIST models" in rows["05"].trains and "54 narrower" in rows["05"].trains
    assert "5 epochs of 60,000 digits, 3 seeds" in rows["09"].trains
    assert rows["11"].trains.startswith("18 canvas networks") and "at most 10 epochs" in rows["11"].trains
    assert "72 position-toy networks" in rows["10"].trains
    # a change of the study's budget changes the row (the table is not hand-written)
    orig = budgets.InvarianceSettings
    monkeypatch.setattr(budgets, "InvarianceSettings", lambda: orig(epochs=7))
    assert "at most 7 epochs" in {r.chapter: r for r in budgets.budgets()}["11"].trains


def test_every_cell_is_filled_and_pipe_free():
    for r in budgets.budgets():
        for v in (r.title, r.trains, r.quick_cpu, r.full_cpu):
            assert v and "|" not in v
