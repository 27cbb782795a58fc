"""Device choice and the ``doctor()`` environment report."""

from __future__ import annotations

import os
import platform
import textwrap
from dataclasses import dataclass, field

import torch

from shiftlab.core.config import SetupError, cache_dir, data_root, in_colab, is_quick

__all__ = ["get_device", "DoctorReport", "doctor"]


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Choose the compute device: CUDA if present, else Apple MPS, else CPU.

    Args:
        prefer: force a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``). ``None`` or
            ``"auto"`` picks the best available one.

    Raises:
        RuntimeError: when the preferred device is not available here.
        ValueError: when ``prefer`` is not a device name.
    """
    if prefer is None or (isinstance(prefer, str) and prefer.strip().lower() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(prefer)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{prefer!r} is not a device name (try 'cpu', 'cuda' or 'mps')") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but torch sees no CUDA GPU here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(f"{dev} was requested but only {torch.cuda.device_count()} GPU(s) exist")
    elif dev.type == "mps" and not _mps_available():
        raise RuntimeError("MPS was requested but is not available on this machine")
    elif dev.type not in {"cpu", "cuda", "mps"}:
        raise ValueError(f"unsupported device type {dev.type!r}")
    return dev


@dataclass
class DoctorReport:
    """What ``doctor()`` found, as data (for tests) and as text (for people).

    A bad setting is reported, not raised: ``quick`` is ``None`` when ``SHIFTLAB_QUICK`` is not
    understood, ``data_root`` and ``cache_dir`` start with ``INVALID:`` and the reason when the
    folder cannot be used, and ``advice`` says what to do (without paths, for :meth:`brief`).
    """

    python: str
    torch_version: str
    cuda_version: str | None
    device: str
    gpu_name: str | None
    gpu_memory_gb: float | None
    cpu_threads: int
    colab: bool
    quick: bool | None
    data_root: str | None
    cache_dir: str
    advice: list[str] = field(default_factory=list)

    def text(self) -> str:
        rows = [
            ("Python", self.python),
            ("PyTorch", self.torch_version),
            ("CUDA (torch build)", self.cuda_version or "none"),
            ("device", self.device),
            ("GPU", f"{self.gpu_name} ({self.gpu_memory_gb:.1f} GB)" if self.gpu_name else "none"),
            ("CPU threads", str(self.cpu_threads)),
            ("Google Colab", "yes" if self.colab else "no"),
            ("mode", self._mode("QUICK (SHIFTLAB_QUICK=1: small subsets)")),
            ("SHIFTLAB_DATA", self.data_root or "unset (cache and downloads only)"),
            ("cache", self.cache_dir),
        ]
        width = max(len(k) for k, _ in rows)
        lines = ["shiftlab doctor", "-" * 40] + [f"{k:<{width}} : {v}" for k, v in rows]
        if self.advice:
            lines += [""] + [f"* {a}" for a in self.advice]
        return "\n".join(lines)

    def brief(self) -> str:
        """The short form shown in the book: no paths, nothing machine-specific but the
        device, one line of settings and the advice."""
        gpu = f"{self.gpu_name} ({self.gpu_memory_gb:.0f} GB)" if self.gpu_name else "no GPU"
        lines = [
            f"device: {self.device} ({gpu}) | PyTorch {self.torch_version.split('+')[0]}",
            f"mode: {self._mode('QUICK (small subsets)')} | "
            f"course data: {'SHIFTLAB_DATA' if self.data_root else 'cache and downloads'}"
            f"{' | Colab' if self.colab else ''}",
        ]
        if self.data_root and self.data_root.startswith("INVALID"):
            lines[1] = lines[1].replace("SHIFTLAB_DATA", "SHIFTLAB_DATA (invalid: see doctor())")
        if self.cache_dir.startswith("INVALID"):
            lines[1] += " | cache: INVALID (see below)"
        for a in self.advice:
            lines += textwrap.wrap(a, width=86, initial_indent="* ", subsequent_indent="  ")
        return "\n".join(lines)

    def _mode(self, quick_text: str) -> str:
        if self.quick is None:
            return "INVALID SHIFTLAB_QUICK (see below)"
        return quick_text if self.quick else "FULL"

    def __str__(self) -> str:
        return self.text()


def doctor(show: bool = True, brief: bool = False) -> DoctorReport:
    """Report the software, the device and the course settings, with advice.

    Args:
        show: print the report (default). The report is returned either way.
        brief: print the short form (:meth:`DoctorReport.brief`, no paths): the setup cell of
            every chapter uses it; ``python -m shiftlab doctor`` prints the full report.
    """
    dev = get_device()
    gpu_name = gpu_mem = None
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        gpu_name, gpu_mem = props.name, props.total_memory / 1024**3
    elif dev.type == "mps":
        gpu_name = "Apple GPU (MPS)"
    advice: list[str] = []
    try:
        root = data_root()
        root_text = str(root) if root else None
    except FileNotFoundError as exc:
        root_text = f"INVALID: {exc}"
    quick: bool | None
    try:
        quick = is_quick()
    except SetupError as exc:  # the message holds no path, so the brief form may show it
        quick = None
        advice.append(f"{exc}. Until it is fixed, the chapters stop with this error.")
    try:
        cache_text = str(cache_dir())
    except SetupError as exc:
        cache_text = f"INVALID: {exc}"
        advice.append("The cache folder is unusable (python -m shiftlab doctor shows why): set SHIFTLAB_CACHE "
                      "to a writable folder or unset it; until then every cached step (models, measurements) stops.")
    if dev.type == "cpu":
        if in_colab():
            advice.append(
                "No GPU: in Colab choose Runtime > Change runtime type > T4 GPU, then run this cell again."
            )
        else:
            advice.append(
                "No GPU: notebooks still run on the CPU. On Colab, Runtime > Change runtime type > T4 GPU."
            )
        if quick is False:
            advice.append(
                "FULL mode on a CPU runs this chapter at the book's budget, from seconds to about "
                "two hours a chapter on 2 cores (the instructors page lists what each chapter trains "
                "and how long it takes). Set SHIFTLAB_QUICK=1 for a quick run that uses small "
                "subsets (the numbers then differ from the book)."
            )
    report = DoctorReport(
        python=platform.python_version(),
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda,
        device=str(dev),
        gpu_name=gpu_name,
        gpu_memory_gb=gpu_mem,
        cpu_threads=torch.get_num_threads() or os.cpu_count() or 1,
        colab=in_colab(),
        quick=quick,
        data_root=root_text,
        cache_dir=cache_text,
        advice=advice,
    )
    if show:
        print(report.brief() if brief else report.text())
    return report
