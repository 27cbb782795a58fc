"""``python -m shiftlab bench train``: the shiftlab trainer against the compute floor and the
textbook loop.

All three train model C (at the chapters' width, or ``channels``/``hidden``) for one epoch with
batch 128 and Adam, on the same device, in the same process:

floor
    forward, backward and Adam step only, on one batch already in place, repeated as many times
    as the epoch has steps: no indexing, no augmentation, no bookkeeping. No training loop can
    be faster on this device, so ``shiftlab / floor`` is the trainer's overhead;
shiftlab
    the training set is one tensor on the device, batches are index slices, augmentation is
    one batched gather (:func:`shiftlab.train.trainer.train_model`);
textbook
    ``torchvision.datasets.MNIST`` with ``transforms.RandomAffine(degrees=0,
    translate=(0.1, 0.1))`` and ``ToTensor()`` applied per sample to PIL images, a
    ``DataLoader(shuffle=True, batch_size=128)`` (``num_workers=0`` by default), and every
    batch copied to the device.

The dataset for the textbook loop is built offline from the MNIST files that
:func:`shiftlab.data.mnist.find_mnist` finds (decompressed into a temporary ``ROOT/MNIST/raw``).
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from shiftlab.core.device import get_device
from shiftlab.data.mnist import find_mnist, load_mnist
from shiftlab.nn.mnist_models import make_model
from shiftlab.train.trainer import TrainConfig, train_model

__all__ = ["BenchResult", "prepare_torchvision_root", "floor_epoch", "textbook_epoch", "shiftlab_epoch", "bench_train"]


@dataclass
class BenchResult:
    """Seconds for one epoch each way, the speed-up ``textbook / shiftlab`` and the trainer's
    overhead over the compute floor, ``shiftlab / floor``."""

    device: str
    size: int
    shiftlab_seconds: float
    textbook_seconds: float
    num_workers: int
    threads: int
    floor_seconds: float = float("nan")
    channels: tuple[int, int] = (4, 8)
    hidden: int = 64

    @property
    def ratio(self) -> float:
        return self.textbook_seconds / self.shiftlab_seconds

    @property
    def floor_ratio(self) -> float:
        """The trainer's time over the compute floor's (1.0 = no overhead at all)."""
        return self.shiftlab_seconds / self.floor_seconds

    def text(self) -> str:
        c1, c2 = self.channels
        return (f"bench train: one epoch of model C (width {c1},{c2} + FC {self.hidden}) with shift augmentation, "
                f"{self.size} digits, batch 128, device {self.device}, {self.threads} torch thread(s)\n"
                f"  compute floor (forward + backward + step on a batch in place): {self.floor_seconds:8.2f} s\n"
                f"  shiftlab trainer (tensor on device, batched shifts): {self.shiftlab_seconds:8.2f} s"
                f"  = {self.floor_ratio:.2f}x the floor\n"
                f"  textbook loop (torchvision MNIST + DataLoader(num_workers={self.num_workers}) + RandomAffine): "
                f"{self.textbook_seconds:8.2f} s\n"
                f"  speed-up over the textbook loop: {self.ratio:.1f}x")


def prepare_torchvision_root(root: str | Path) -> Path:
    """Lay the MNIST files out as torchvision expects (``ROOT/MNIST/raw``, decompressed)."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        for src in find_mnist(split):
            dst = raw / src.name.removesuffix(".gz")
            if dst.exists():
                continue
            if src.suffix == ".gz":
                with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            else:
                shutil.copyfile(src, dst)
    return Path(root)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def floor_epoch(size: int, device: torch.device | str | None = None, batch_size: int = 128, seed: int = 0,
                channels: tuple[int, int] = (4, 8), hidden: int = 64) -> float:
    """Seconds for the compute floor of one epoch of model C: ``ceil(size / batch_size)`` Adam
    steps (forward, cross-entropy, backward, step) on one batch of real digits already on the
    device (see the module docstring)."""
    dev = get_device(device)
    batch = load_mnist("train", device=dev, limit=min(size, batch_size))
    x, y = batch.images, batch.labels
    torch.manual_seed(seed)
    model = make_model("C", channels=channels, hidden=hidden).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = -(-size // batch_size)
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(dev)
    return time.perf_counter() - t0


def textbook_epoch(root: str | Path, size: int, device: torch.device | str | None = None,
                   batch_size: int = 128, num_workers: int = 0, seed: int = 0,
                   channels: tuple[int, int] = (4, 8), hidden: int = 64) -> float:
    """Seconds for one textbook epoch of model C (see the module docstring)."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    dev = get_device(device)
    tf = transforms.Compose([transforms.RandomAffine(degrees=0, translate=(0.1, 0.1)), transforms.ToTensor()])
    ds = datasets.MNIST(str(root), train=True, download=False, transform=tf)
    if not 1 <= size <= len(ds):
        raise ValueError(f"size must be between 1 and {len(ds)}, got {size}")
    torch.manual_seed(seed)
    loader = DataLoader(Subset(ds, range(size)), batch_size=batch_size, shuffle=True, num_workers=num_workers)
    model = make_model("C", channels=channels, hidden=hidden).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    _sync(dev)
    t0 = time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(dev), yb.to(dev)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _sync(dev)
    return time.perf_counter() - t0


def shiftlab_epoch(size: int, device: torch.device | str | None = None, batch_size: int = 128, seed: int = 0,
                   channels: tuple[int, int] = (4, 8), hidden: int = 64) -> float:
    """Seconds for one shiftlab epoch of model C (data already on the device, not timed)."""
    dev = get_device(device)
    train = load_mnist("train", device=dev, limit=size)
    cfg = TrainConfig(model="C", augment=True, epochs=1, batch_size=batch_size, seed=seed, train_size=size,
                      channels=channels, hidden=hidden)
    _sync(dev)
    t0 = time.perf_counter()
    train_model(cfg, train, None, device=dev, progress=False)
    _sync(dev)
    return time.perf_counter() - t0


def bench_train(device: torch.device | str | None = None, size: int | None = None, batch_size: int = 128,
                num_workers: int = 0, channels: tuple[int, int] = (4, 8), hidden: int = 64) -> BenchResult:
    """Time one epoch each way on the same device (``size``: training digits, default 60,000;
    ``channels``, ``hidden``: model C's widths). The floor and the trainer are timed twice,
    alternating, and the faster of each pair is kept, so that a burst of load from other
    processes does not decide the overhead ratio."""
    dev = get_device(device)
    size = 60000 if size is None else int(size)
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    c1, c2 = channels
    with tempfile.TemporaryDirectory(prefix="shiftlab_bench_") as tmp:
        root = prepare_torchvision_root(tmp)
        ch, hid = (int(c1), int(c2)), int(hidden)
        shiftlab_epoch(min(size, 4 * batch_size), dev, batch_size, channels=ch, hidden=hid)  # warm-up
        floor, fast = float("inf"), float("inf")
        for _ in range(2):
            floor = min(floor, floor_epoch(size, dev, batch_size, channels=ch, hidden=hid))
            fast = min(fast, shiftlab_epoch(size, dev, batch_size, channels=ch, hidden=hid))
        slow = textbook_epoch(root, size, dev, batch_size, num_workers, channels=ch, hidden=hid)
    return BenchResult(str(dev), size, fast, slow, num_workers, torch.get_num_threads(), floor,
                       (int(c1), int(c2)), int(hidden))
