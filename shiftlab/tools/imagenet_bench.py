"""Benchmark: how fast is the batched shift measurement, and how much does batching buy?

Measures images x shifts per second for one protocol's shift sequences, evaluated (a) batched,
every shift of a photo in one forward pass (what :mod:`shiftlab.measure.shift_metrics` does), and (b)
one shifted image at a time. Run ``python -m shiftlab.tools.imagenet_bench`` (add ``--quick`` for a
short run); :func:`run_benchmark` returns the numbers as a dict.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from typing import Any

import torch

from shiftlab.data.photos import PhotoSet, load_photos
from shiftlab.measure.protocols import DEFAULT_EMBED_SIZE, shift_sequence
from shiftlab.nn.imagenet_models import ImageNetModel, load_imagenet_model

__all__ = ["run_benchmark", "main"]


def run_benchmark(model: ImageNetModel | None = None, photos: PhotoSet | None = None, n_images: int = 4,
                  n_steps: int = 17, protocol: str = "crop", max_shift: int = 16,
                  embed_size: int = DEFAULT_EMBED_SIZE, repeats: int = 2) -> dict[str, Any]:
    """Time the shift measurement batched vs one image at a time (best of ``repeats``).

    Args:
        model: default: :func:`load_imagenet_model` ``("auto", "cpu")``.
        photos: default: the first ``n_images`` (evenly spread) of :func:`load_photos`.
        n_images, n_steps, protocol, max_shift, embed_size: the workload, ``n_images x n_steps``
            frames (making the frames is included in both timings).
        repeats: repetitions; the fastest is reported.

    Returns:
        A dict with the workload, ``batched_s``/``looped_s`` (seconds), ``batched_per_s`` and
        ``looped_per_s`` (images x shifts per second), ``speedup`` (batched / looped),
        ``max_abs_prob_diff`` between the two, the model, device and thread count.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be positive, got {repeats}")
    model = model or load_imagenet_model("auto", device="cpu")
    photos = photos or load_photos(limit=n_images)
    imgs = photos.images[:n_images]
    n = len(imgs) * n_steps

    def batched() -> torch.Tensor:
        out = []
        for img in imgs:
            frames, _ = shift_sequence(img, protocol, n_steps, model.input_size, max_shift, embed_size)
            out.append(model.predict(frames, batch_size=n_steps))
        return torch.cat(out)

    def looped() -> torch.Tensor:
        out: list[torch.Tensor] = []
        for img in imgs:
            frames, _ = shift_sequence(img, protocol, n_steps, model.input_size, max_shift, embed_size)
            out.extend(model.predict(frames[k : k + 1], batch_size=1) for k in range(n_steps))
        return torch.cat(out)

    def best(fn: Callable[[], torch.Tensor]) -> tuple[float, torch.Tensor]:
        fn()  # warm-up (allocator, kernels)
        times: list[float] = []
        res: torch.Tensor | None = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            res = fn()
            times.append(time.perf_counter() - t0)
        assert res is not None  # repeats >= 1 was checked above
        return min(times), res

    tb, pb = best(batched)
    tl, pl = best(looped)
    return {
        "model": model.name, "protocol": protocol, "n_images": len(imgs), "n_steps": n_steps,
        "images_x_shifts": n, "batched_s": tb, "looped_s": tl,
        "batched_per_s": n / tb, "looped_per_s": n / tl, "speedup": (n / tb) / (n / tl),
        "max_abs_prob_diff": float((pb - pl).abs().max()), "device": str(model.device),
        "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line: print the benchmark as JSON."""
    ap = argparse.ArgumentParser(prog="python -m shiftlab.tools.imagenet_bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 photos x 9 shifts, one repeat")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--steps", type=int, default=17)
    ap.add_argument("--protocol", default="crop", choices=["crop", "embed", "inpaint"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    kw = dict(n_images=2, n_steps=9, repeats=1) if args.quick else dict(n_images=args.images, n_steps=args.steps)
    res = run_benchmark(protocol=args.protocol, **kw)
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
