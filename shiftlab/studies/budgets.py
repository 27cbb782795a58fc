"""What each chapter runs in full mode, and how long its full run took: the instructors' table.

Each row's *what a full run trains* is written from the studies' own full-mode settings (their
dataclass defaults), so the page cannot promise a budget the code does not run; the times are
measurements of the book's runs on a 2-core CPU (wall time for the whole notebook from an empty
cache, rounded), not estimates. ``book/instructors.md`` shows :func:`markdown` verbatim
(``tests/test_budgets.py`` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

from shiftlab.studies.borders_toy import BorderSettings
from shiftlab.studies.invariance_transfer import MODES, TransferSettings
from shiftlab.studies.learned_invariance import InvarianceSettings
from shiftlab.studies.mnist_pooling import NARROW_HIDDEN, NARROW_WIDTH, MnistSettings
from shiftlab.studies.width_study import WIDTHS

__all__ = ["ChapterBudget", "budgets", "markdown"]


@dataclass(frozen=True)
class ChapterBudget:
    """One chapter: what its full run trains, and the measured CPU wall times of both modes."""

    chapter: str
    title: str
    trains: str
    quick_cpu: str
    full_cpu: str
    dominates: str


def _mnist(s: MnistSettings) -> str:
    return f"{s.epochs} epochs of {s.train_size:,} digits, {len(s.seeds)} seeds"


def budgets() -> tuple[ChapterBudget, ...]:
    """The rows, chapter by chapter (full-mode settings, measured times)."""
    m = MnistSettings()
    seeds = len(m.seeds)
    abc = 3 * 2 * seeds                                            # A, B, C x augmentation x seeds
    narrower = sum(w != m.channels for w in WIDTHS) * abc
    b = BorderSettings()
    toy = len(b.paddings) * len(b.distances) * len(b.seeds)
    li = InvarianceSettings()
    li_runs = len(li.conditions) * len(li.heads) * len(li.seeds)
    tr = TransferSettings()
    tr_pre = len(tr.heads) * len(tr.seeds)
    until = "" if li.target is None else f"until {li.target * 100:.0f} % of held-out digits are right, "
    none = "nothing"
    return (
        ChapterBudget("01", "Setup", none, "7 s", "7 s", "loading MNIST"),
        ChapterBudget("02", "Equivariance", none, "9 s", "10 s", ""),
        ChapterBudget("03", "Pooling", none, "8 s", "10 s", ""),
        ChapterBudget("04", "Where invariance comes from", none, "7 s", "15 s", ""),
        ChapterBudget("05", "MNIST: does pooling buy invariance?",
                      f"{abc} MNIST models (A, B, C, with and without augmentation) at {m.channels[0]} and "
                      f"{m.channels[1]} channels + FC {m.hidden}, {_mnist(m)}; the width study's {narrower} "
                      "narrower models", "30 s", "about 2 hours",
                      "training the 18 headline models (80 min; model A alone about 9 min) and the width "
                      "study (39 min)"),
        ChapterBudget("06", "Augmentation", "nothing new (chapter 05's models)", "10 s", "seconds after 05",
                      "reuses chapter 05's models"),
        ChapterBudget("07", "Small shifts break ImageNet CNNs", "nothing (a pretrained ImageNet model)", "26 s",
                      "14 min", "the shift study (3 protocols x 17 frames, 8 crops, 7 scales per photo)"),
        ChapterBudget("08", "Ignoring the sampling theorem",
                      f"BlurPool-C and APS-C at the headline width ({2 * seeds} models), {_mnist(m)}", "70 s",
                      "36 min after 05", "training BlurPool-C and APS-C (33 min) and timing every model's "
                      "training step (3 min)"),
        ChapterBudget("09", "Data cannot teach invariance beyond what they show",
                      f"{abc} narrow MNIST models ({NARROW_WIDTH[0]} and {NARROW_WIDTH[1]} channels + FC "
                      f"{NARROW_HIDDEN}), {_mnist(m)}", "107 s", "13 min, plus 10-25 min the first time",
                      "the per-class tests (Monte Carlo) and the TTA studies; the first time, the narrow models"),
        ChapterBudget("10", "Where equivariance breaks",
                      f"{toy} position-toy networks ({len(b.paddings)} paddings x {len(b.distances)} distances x "
                      f"{len(b.seeds)} seeds, {b.steps} Adam steps each); 6 narrow BlurPool-C and APS-C",
                      "3.5 min for 10-12 together", "about 25 min",
                      "the position toy (15 min) and the ImageNet model's per-layer errors (7 min)"),
        ChapterBudget("11", "Can a network learn invariance?",
                      f"{li_runs} canvas networks ({len(li.conditions)} conditions x {len(li.heads)} heads x "
                      f"{len(li.seeds)} seeds, {li.train_size:,} digits {until}at most {li.epochs} epochs); "
                      f"Biscione and Bowers' protocol: {tr_pre} "
                      f"pretrained networks and {tr_pre * len(MODES)} new-class runs; exercise 3: "
                      f"{len(tr.heads) * (1 + len(MODES))} more",
                      "(see 10)", "about 90 min",
                      "training, two runs at a time on the 2 cores: the 18 canvas networks (103 core-minutes, "
                      "those trained everywhere longest), the protocol and exercise 3 (57 core-minutes)"),
        ChapterBudget("12", "The worst case, and which consistency",
                      "24 more narrow MNIST variants (augmented BlurPool-C/APS-C, circular padding, GAP heads)",
                      "(see 10)", "about 90 min after 09 and 10",
                      "the variants (49 min), the worst-case grid (12 min) and the protocols (30 min)"),
        ChapterBudget("13", "Beyond: equivariance by design", none, "7 s", "7 s", ""),
    )


def markdown() -> str:
    """The table of :func:`budgets` in Markdown, as the instructors page shows it."""
    lines = ["| chapter | what a full run trains | quick mode, CPU | full mode, CPU | what dominates a full run |",
             "|---|---|---|---|---|"]
    for r in budgets():
        lines.append(f"| {r.chapter} {r.title} | {r.trains} | {r.quick_cpu} | {r.full_cpu} | {r.dominates} |")
    return "\n".join(lines)
