"""Probing a network: its subsampling factor, and how non-shiftable each layer is.

**Subsampling factor by probing.** Every layer of a CNN maps an input side ``H`` to an output side
``floor((H + a) / s) + b`` for integers ``a, b`` and its *cumulative stride* ``s`` (a composition of
such floor-affine maps is again one, with the strides multiplied). So as ``H`` grows by one pixel
at a time, the layer's output side grows by one every ``s`` pixels: the staircase has steps of width
exactly ``s``. :func:`probe_strides` feeds square inputs of consecutive sizes, records every
layer's output size with forward hooks, and finds the ``s`` whose staircase fits (layers that
refuse some sizes, like adaptive polyphase sampling with odd sizes, are fitted on the sizes they
accept) -- nothing is typed in
and nothing is read from ``stride`` attributes, so branches, ``ceil_mode`` and "SAME" padding
hooks are all handled. By default the probe runs on PyTorch's ``meta`` device (shapes only, no
arithmetic), so even VGG16 costs milliseconds per size. The *subsampling factor* of the network is
the cumulative stride of its last spatial layer; layers whose size does not change with ``H``
(adaptive pooling) are global and have no stride. A head that accepts only one input size
(flatten + fully connected, as in the MNIST models) simply fails for the other sizes; the layers
before it have been recorded by then.

Only shifts that are multiples of ``s`` in both directions move the last feature map by whole
samples; those are the ``1 / s^2`` of all shifts for which the sampling theorem still lets global
pooling be exactly invariant -- provided the network ends in a global pool (a fully connected
head reads positions) and the boundary is circular (circular padding and circular shifts).

**Per-layer non-shiftability** (Azulay & Weiss 2019, their Fig. 8). For randomly chosen feature
maps, follow the global sum ``g(t)`` of the map as the input shifts by ``t = 0, 1, ..., T - 1``
pixels; call the (image, map) pair *non-shiftable* when its global sum varies by more than 20 %
of its mean. "Its mean" is taken per *channel*: ``max_t g - min_t g > 0.2 * scale``, with
``scale`` the mean ``|g|`` of that channel over all images and shifts
(:func:`relative_variation`). Dividing by each pair's own mean instead would make the ratio
explode for sparse ReLU maps whose sum is near zero on one image (a channel that barely fires
there), which is an artefact of the denominator, not aliasing;
:meth:`Nonshiftability.per_map_fraction` keeps that literal reading for comparison. Dead channels
(``scale`` at most ``dead_tol``, zero
for every image and shift) have no scale and are skipped and counted. For a shiftable
representation (e.g. stride 1, circular, or properly low-passed) the global sum does not move.
:func:`nonshiftability` reports the fraction of non-shiftable (image, map) pairs per layer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from shiftlab.core.progress import tqdm
from shiftlab.core.shifts import translate
from shiftlab.measure.global_pool import DEAD_TOL

__all__ = [
    "LayerStride",
    "StrideProbe",
    "probe_strides",
    "subsampling_factor",
    "guaranteed_fraction",
    "leaf_modules",
    "capture_maps",
    "DEAD_TOL",
    "relative_variation",
    "Nonshiftability",
    "nonshiftability",
    "feature_layers",
    "activation_layers",
    "mnist_nonshiftability",
]


@dataclass
class LayerStride:
    """One layer's probed geometry.

    Attributes:
        name: the module's qualified name.
        kind: the module's class name.
        out_size: output side for the reference input size.
        stride: cumulative stride from the input (None: output size independent of the input
            size, e.g. adaptive pooling, or not enough steps seen).
        depth: order of first call in the forward pass.
    """

    name: str
    kind: str
    out_size: int
    stride: int | None
    depth: int


@dataclass
class StrideProbe:
    """All spatial layers of a probed network, in forward order."""

    layers: list[LayerStride]
    input_size: int
    sizes: tuple[int, int]

    @property
    def factor(self) -> int:
        """The subsampling factor: cumulative stride of the last layer that has one."""
        strided = [layer.stride for layer in self.layers if layer.stride is not None]
        if not strided:
            raise ValueError("no layer with a spatial output depends on the input size")
        return int(strided[-1])

    @property
    def stride_changes(self) -> list[LayerStride]:
        """The layers at which the cumulative stride first exceeds every earlier one (the
        downsampling layers; side branches that catch up later are not repeated)."""
        out, prev = [], 1
        for layer in self.layers:
            if layer.stride is not None and layer.stride > prev:
                out.append(layer)
                prev = layer.stride
        return out


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` for every module without children."""
    return [(n, m) for n, m in model.named_modules() if n and not list(m.children())]


def _hooked_sizes(model: nn.Module, modules: list[tuple[str, nn.Module]],
                  x: torch.Tensor) -> dict[str, tuple[int, int]]:
    seen: dict[str, tuple[int, int]] = {}
    order: dict[str, int] = {}
    hooks = []
    for name, mod in modules:
        def hook(_m: nn.Module, _i: tuple, out: object, name: str = name) -> None:
            if name not in seen and isinstance(out, torch.Tensor) and out.ndim == 4:
                seen[name] = (int(out.shape[-2]), len(order))
                order[name] = len(order)
        hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    except (RuntimeError, ValueError):
        # a fully connected head accepts one input size only; the layers before it are recorded
        if not seen:
            raise
    finally:
        for h in hooks:
            h.remove()
    return seen


def _fit_stride(hs: np.ndarray, outs: np.ndarray) -> int:
    """The cumulative stride ``s`` such that ``out = floor((H + c) / s) + b`` fits every probed pair.

    Works on consecutive sizes and on subsets (layers that accept only some sizes, e.g. APS with
    even sizes). Needs at least two steps of the staircase."""
    order = np.argsort(hs)
    hs, outs = hs[order], outs[order]
    steps = int(outs[-1] - outs[0])
    if steps < 2:
        raise ValueError(f"only {steps} step(s) of the size staircase seen between input sizes {hs[0]} and {hs[-1]}: "
                         "the stride is larger than (span - 1) / 2; probe with a larger span")
    if np.any(np.diff(outs) < 0):
        raise RuntimeError(f"output sizes decrease as the input grows: {outs.tolist()}")
    for stride in range(1, int(hs[-1] - hs[0]) + 1):
        for c in range(stride):
            if np.ptp(outs - np.floor_divide(hs + c, stride)) == 0:
                return stride
    raise RuntimeError(f"output sizes {outs.tolist()} for inputs {hs.tolist()} fit no floor-affine staircase")


def probe_strides(model: nn.Module, input_size: int = 224, in_channels: int = 3, span: int = 65,
                  device: str | torch.device = "meta", modules: Sequence[tuple[str, nn.Module]] | None = None,
                  batch: int = 1) -> StrideProbe:
    """Probe every leaf layer's cumulative stride (see the module docstring).

    Args:
        model: any network taking ``[N, in_channels, H, H]``.
        input_size: the first (reference) input side.
        in_channels: input channels.
        span: how many consecutive sizes ``input_size .. input_size + span - 1`` are fed; a stride
            is found when at least two steps of the staircase are seen, so ``span`` finds strides
            up to ``(span - 1) // 2`` (65: up to 32). A layer whose size stays constant over the
            span is checked once more at twice the size; if it changes there, the stride is
            too large for the span and a ``ValueError`` says so.
        device: ``"meta"`` (default; a deep copy of the model is moved there, shapes only) or a
            real device (the model is run as is, in eval mode, with random inputs).
        modules: which modules to watch (default: :func:`leaf_modules`).
        batch: images per probe input.

    Returns:
        A :class:`StrideProbe`; ``probe.factor`` is the subsampling factor.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if input_size < 1 or span < 3 or in_channels < 1 or batch < 1:
        raise ValueError("input_size, in_channels, batch must be positive and span at least 3")
    dev = torch.device(device)
    if dev.type == "meta":
        net = copy.deepcopy(model).to("meta") if _on_real_device(model) else model
    else:
        net = model
    was_training = net.training
    net.eval()
    mods = list(modules) if modules is not None else leaf_modules(net)
    if modules is not None and net is not model:
        names = {n for n, _ in modules}
        mods = [(n, m) for n, m in net.named_modules() if n in names]
    records: dict[str, dict[int, int]] = {}
    depth: dict[str, int] = {}
    far: dict[str, tuple[int, int]] = {}
    big = 0
    kinds = {n: type(m).__name__ for n, m in mods}
    sizes = range(input_size, input_size + span)
    try:
        for h in sizes:
            x = torch.zeros(batch, in_channels, h, h, device=dev) if dev.type == "meta" else \
                torch.rand(batch, in_channels, h, h, device=dev)
            try:
                got = _hooked_sizes(net, mods, x)
            except (RuntimeError, ValueError):
                if h == input_size:
                    raise
                continue  # a size this network refuses altogether
            for name, (side, order) in got.items():
                records.setdefault(name, {})[h] = side
                depth.setdefault(name, order)
        const = [n for n, seq in records.items() if len(set(seq.values())) == 1]
        if const:
            big = 2 * input_size + 1
            x = torch.zeros(batch, in_channels, big, big, device=dev) if dev.type == "meta" else \
                torch.rand(batch, in_channels, big, big, device=dev)
            try:
                far = _hooked_sizes(net, mods, x)
            except (RuntimeError, ValueError):
                far = {}
    finally:
        net.train(was_training)
    layers = []
    for name in sorted(records, key=lambda n: depth[n]):
        if input_size not in records[name] or len(records[name]) < 3:
            continue
        hs = np.asarray(sorted(records[name]))
        seq = np.asarray([records[name][h] for h in hs])
        if np.all(seq == seq[0]):
            if name in far and far[name][0] != seq[0]:
                raise ValueError(f"layer {name!r} keeps its size over {span} input sizes but not at {big}: its "
                                 f"stride exceeds {(span - 1) // 2}; probe with a larger span")
            stride = None
        else:
            stride = _fit_stride(hs, seq)
        layers.append(LayerStride(name, kinds.get(name, "?"), int(seq[0]), stride, depth[name]))
    return StrideProbe(layers, input_size, (sizes[0], sizes[-1]))


def _on_real_device(model: nn.Module) -> bool:
    return any(t.device.type != "meta" for t in list(model.parameters()) + list(model.buffers()))


def subsampling_factor(model: nn.Module, input_size: int = 224, in_channels: int = 3, **kwargs: object) -> int:
    """The probed subsampling factor of ``model`` (see :func:`probe_strides`)."""
    return probe_strides(model, input_size, in_channels, **kwargs).factor  # type: ignore[arg-type]


def guaranteed_fraction(factor: int) -> float:
    """``1 / s^2``: the fraction of 2-D integer shifts that are multiples of ``s`` in both directions."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    return 1.0 / float(factor) ** 2


# --------------------------------------------------------------------------- non-shiftability
@torch.no_grad()
def capture_maps(model: nn.Module, x: torch.Tensor, modules: Sequence[tuple[str, nn.Module]],
                 reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Run ``model(x)`` and return each watched module's output (first call), optionally reduced
    by ``reduce`` (e.g. the global sum) to save memory."""
    out: dict[str, torch.Tensor] = {}
    hooks = []
    for name, mod in modules:
        def hook(_m: nn.Module, _i: tuple, o: object, name: str = name) -> None:
            if name not in out and isinstance(o, torch.Tensor):
                out[name] = (reduce(o) if reduce is not None else o).detach()
        hooks.append(mod.register_forward_hook(hook))
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    missing = [n for n, _ in modules if n not in out]
    if missing:
        raise ValueError(f"these modules were not called in the forward pass: {missing}")
    return out



def relative_variation(sums: np.ndarray, dead_tol: float = DEAD_TOL) -> tuple[np.ndarray, np.ndarray]:
    """How much each map's global sum varies over the shifts, relative to its channel's scale.

    ``rel[n, k] = (max_t g[t, n, k] - min_t g[t, n, k]) / scale[k]`` with
    ``scale[k] = mean_{t, n} |g[t, n, k]|``, the channel's mean absolute global sum over all
    images and shifts. The denominator is positive for every live channel, so the ratio is
    finite even when one image's sum is (near) zero; an image on which a live channel stays
    silent at every shift gets ``rel = 0`` (its sum does not move).

    Args:
        sums: ``[T, N, K]`` global sums of ``K`` channels for ``N`` images at ``T`` shifts;
            channels that are NaN everywhere are padding.
        dead_tol: channels with ``scale <= dead_tol`` are dead (no scale to compare with).

    Returns:
        ``(rel, dead)``: ``rel [N, K]`` (NaN for dead and padding channels) and ``dead [K]``
        (True for dead channels; False for padding).

    Raises:
        ValueError: when ``sums`` is not 3-D, has fewer than two shifts, or ``dead_tol < 0``.
    """
    g = np.asarray(sums, dtype=np.float64)
    if g.ndim != 3:
        raise ValueError(f"sums must have shape [T, N, K], got {g.shape}")
    if g.shape[0] < 2:
        raise ValueError("need at least two shifts")
    if not dead_tol >= 0:
        raise ValueError(f"dead_tol must be non-negative, got {dead_tol!r}")
    pad = np.all(np.isnan(g), axis=(0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.abs(g).mean(axis=(0, 1))
        dead = ~pad & (scale <= dead_tol)
        spread = g.max(axis=0) - g.min(axis=0)
        rel = np.where((pad | dead)[None, :], np.nan, spread / np.where(dead | pad, 1.0, scale))
    return rel, dead


@dataclass
class Nonshiftability:
    """Per-layer non-shiftability.

    Attributes:
        layers: the watched layers' names, in depth order.
        fraction: ``[L]`` fraction of sampled (image, map) pairs of live channels whose global
            sum varies by more than ``threshold`` times the channel's mean ``|sum|``
            (:func:`relative_variation`).
        change: ``[L, N, K]`` that relative variation of each sampled map (NaN for dead
            channels, and as padding when a layer has fewer than ``K`` sampled maps).
        sums: ``[L, T, N, K]`` the global sums themselves (NaN padding likewise).
        threshold: 0.2 in the paper's figure.
        shifts: ``[T]`` the shifts (pixels) of the sequence.
        channels: the sampled channel indices of each layer.
        dead_fraction: ``[L]`` fraction of each layer's sampled channels that are dead (zero
            for every image and shift) and therefore skipped.
        dead_channels: ``[L]`` how many sampled channels were skipped as dead.
        sampled_channels: ``[L]`` how many channels were sampled per layer.
    """

    layers: list[str]
    fraction: np.ndarray
    change: np.ndarray
    sums: np.ndarray
    threshold: float
    shifts: np.ndarray
    channels: list[np.ndarray] = field(default_factory=list)
    dead_fraction: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dead_channels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    sampled_channels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @classmethod
    def from_sums(cls, layers: Sequence[str], sums: np.ndarray, threshold: float = 0.2,
                  shifts: np.ndarray | None = None, channels: Sequence[np.ndarray] = (),
                  dead_tol: float = DEAD_TOL) -> Nonshiftability:
        """Score the global sums ``[L, T, N, K]`` (NaN padding) with :func:`relative_variation`."""
        sums = np.asarray(sums, dtype=np.float64)
        if sums.ndim != 4 or sums.shape[0] != len(layers):
            raise ValueError(f"sums must have shape [L={len(layers)}, T, N, K], got {sums.shape}")
        if not threshold > 0:
            raise ValueError(f"threshold must be positive, got {threshold!r}")
        change = np.full((sums.shape[0], sums.shape[2], sums.shape[3]), np.nan)
        fraction, n_dead, n_sampled = [], [], []
        for li in range(sums.shape[0]):
            rel, dead = relative_variation(sums[li], dead_tol)
            change[li] = rel
            valid = ~np.isnan(rel)
            fraction.append(float((rel[valid] > threshold).mean()) if valid.any() else float("nan"))
            n_dead.append(int(dead.sum()))
            n_sampled.append(int((~np.all(np.isnan(sums[li]), axis=(0, 1))).sum()))
        n_sampled_a = np.asarray(n_sampled)
        lab = np.arange(sums.shape[1]) if shifts is None else np.asarray(shifts)
        return cls(list(layers), np.asarray(fraction), change, sums, float(threshold), lab,
                   [np.asarray(c) for c in channels], np.asarray(n_dead) / np.maximum(n_sampled_a, 1),
                   np.asarray(n_dead), n_sampled_a)

    def per_map_fraction(self) -> np.ndarray:
        """``[L]`` the literal per-map reading, for comparison: the fraction of (image, map)
        pairs with ``max_t g - min_t g > threshold * |mean_t g|``, dividing by the pair's *own*
        mean (pairs that are zero at every shift are left out). Near-zero means make it
        overcount sparse maps (see the module docstring)."""
        out = []
        for g in self.sums:
            mean = g.mean(axis=0)  # NaN for padding channels
            spread = g.max(axis=0) - g.min(axis=0)
            silent = np.all(g == 0, axis=0) | np.isnan(mean)
            with np.errstate(divide="ignore", invalid="ignore"):
                big = spread[~silent] > self.threshold * np.abs(mean[~silent])
            out.append(float(big.mean()) if big.size else float("nan"))
        return np.asarray(out)

    def low_mean_fraction(self, level: float = 0.1) -> np.ndarray:
        """``[L]`` fraction of (image, map) pairs of live channels whose mean ``|g|`` over the
        shifts is below ``level`` times their channel's scale: the near-zero denominators of
        :meth:`per_map_fraction`."""
        if not level > 0:
            raise ValueError(f"level must be positive, got {level!r}")
        out = []
        for g in self.sums:
            pad = np.all(np.isnan(g), axis=(0, 1))
            scale = np.abs(g).mean(axis=(0, 1))
            live = ~pad & (scale > DEAD_TOL)
            if not live.any():
                out.append(float("nan"))
                continue
            own = np.abs(g[:, :, live].mean(axis=0))
            out.append(float((own < level * scale[live]).mean()))
        return np.asarray(out)

    def to_dict(self) -> dict:
        return {"layers": self.layers, "fraction": self.fraction.tolist(), "change": self.change.tolist(),
                "sums": self.sums.tolist(), "threshold": self.threshold, "shifts": self.shifts.tolist(),
                "channels": [c.tolist() for c in self.channels], "dead_fraction": self.dead_fraction.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> Nonshiftability:
        """Rebuild from :meth:`to_dict`. The scores are recomputed from the stored ``sums``
        (:meth:`from_sums`), so a payload cached by an older scoring rule reads the same as
        a fresh one."""
        return cls.from_sums(list(d["layers"]), np.asarray(d["sums"], dtype=np.float64),
                             float(d["threshold"]), np.asarray(d["shifts"]),
                             [np.asarray(c) for c in d["channels"]])


@torch.no_grad()
def nonshiftability(model: nn.Module, frames: torch.Tensor, modules: Sequence[tuple[str, nn.Module]],
                    maps_per_layer: int | None = 16, threshold: float = 0.2, seed: int = 0,
                    batch: int = 64, shifts: Sequence[int] | np.ndarray | None = None,
                    progress: bool = False, dead_tol: float = DEAD_TOL) -> Nonshiftability:
    """Per-layer non-shiftability of ``model`` (see the module docstring).

    Args:
        model: the network (eval mode is set for the call).
        frames: ``[T, N, C, H, W]``: ``N`` images, each at ``T`` consecutive shifts, already
            normalised for the model.
        modules: the layers to watch, ``(name, module)`` in depth order.
        maps_per_layer: how many channels per layer are sampled at random (``seed``), the same
            ones for every image; ``None`` = all channels.
        threshold: relative variation above which a map counts as non-shiftable
            (:func:`relative_variation`: spread over the shifts / the channel's mean ``|sum|``).
        batch: frames per forward pass.
        shifts: labels of the ``T`` shifts (for plots); default ``0 .. T-1``.
        dead_tol: channels whose mean ``|sum|`` is at most this are dead and skipped.
    """

    if frames.ndim != 5:
        raise ValueError(f"frames must have shape [T, N, C, H, W], got {tuple(frames.shape)}")
    if not modules:
        raise ValueError("watch at least one module")
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold!r}")
    t, n = frames.shape[:2]
    if t < 2:
        raise ValueError("need at least two shifts")
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    flat = frames.reshape(t * n, *frames.shape[2:])
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name, _ in modules}
    for i in tqdm(range(0, t * n, batch), desc="non-shiftability", disable=not progress, leave=False):
        got = capture_maps(model, flat[i : i + batch].to(dev), modules,
                           reduce=lambda o: o.double().sum(dim=(-2, -1)).cpu())
        for name in chunks:
            chunks[name].append(got[name])
    model.train(was_training)
    gen = np.random.default_rng(seed)
    per_layer = []
    for name, _ in modules:
        g = torch.cat(chunks[name]).reshape(t, n, -1).numpy()
        k = g.shape[2] if maps_per_layer is None else min(maps_per_layer, g.shape[2])
        ch = np.sort(gen.choice(g.shape[2], size=k, replace=False))
        per_layer.append((g[:, :, ch], ch))
    width = max(g.shape[2] for g, _ in per_layer)
    sums = np.full((len(per_layer), t, n, width), np.nan)
    for li, (g, _) in enumerate(per_layer):
        sums[li, :, :, : g.shape[2]] = g
    lab = np.arange(t) if shifts is None else np.asarray(shifts)
    return Nonshiftability.from_sums([n_ for n_, _ in modules], sums, threshold, lab,
                                     [ch for _, ch in per_layer], dead_tol)


# --------------------------------------------------------------------------- measurements
def feature_layers(model: nn.Module, container: str = "features",
                   skip: tuple[type, ...] = (nn.Conv2d,)) -> list[tuple[str, nn.Module]]:
    """The children of ``model.<container>`` in order, without the types in ``skip`` (default: the
    convolutions, so that the MNIST models' ReLU and pooling outputs are watched)."""
    seq = getattr(model, container, None)
    if not isinstance(seq, nn.Module):
        raise TypeError(f"the model has no .{container} module")
    return [(f"{container}.{n}", m) for n, m in seq.named_children() if not isinstance(m, skip)]


def activation_layers(model: nn.Module, container: str | None = None,
                      kinds: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6)) -> list[tuple[str, nn.Module]]:
    """The non-negative maps of every block of an ImageNet network, in depth order: the ReLU
    outputs Azulay & Weiss looked at (a signed map's global sum can be near zero, which would make
    a relative change meaningless).

    * A model with a ``.<container>`` module (default ``"features"``: torchvision's MobileNetV2 and
      VGG16): for every child of it, its last activation module (``kinds``); children without one
      are left out. MobileNetV2's blocks end in a *linear* bottleneck, so the last ReLU6 inside
      each block is watched (19 layers); VGG16's children are single layers, so its 13 ReLUs are.
    * A ResNet (``container=None`` and no ``.features``, but ``layer1`` ... ``layer4``: torchvision's
      and timm's ResNets): the stem's last activation (``relu`` or ``act1``), then every residual
      block of ``layer1`` ... ``layer4`` itself, whose output is the activation after the
      addition (``relu(out + identity)``). A block's own activation module cannot be watched: one
      module is called three times per block, and a hook keeps the first call.

    Raises:
        TypeError: ``container`` is given and the model has no such module, or ``container`` is
            None and the model is neither kind (the message lists what is supported).
        ValueError: no activation of ``kinds`` in the container or in a ResNet's stem.
    """
    if container is not None or isinstance(getattr(model, "features", None), nn.Module):
        name = container or "features"
        seq = getattr(model, name, None)
        if not isinstance(seq, nn.Module):
            raise TypeError(f"the model has no .{name} module")
        out = []
        for n, block in seq.named_children():
            acts = [(f"{name}.{n}.{k}" if k else f"{name}.{n}", m) for k, m in block.named_modules()
                    if isinstance(m, kinds)]
            if acts:
                out.append(acts[-1])
        if not out:
            raise ValueError(f"no activation of types {kinds} in .{name}")
        return out
    stages = [m for m in (getattr(model, f"layer{i}", None) for i in range(1, 5)) if isinstance(m, nn.Sequential)]
    if len(stages) != 4:
        raise TypeError(f"activation_layers knows models with a .features container (MobileNetV2, VGG16) and "
                        f"ResNets (layer1 ... layer4), not {type(model).__name__}: pass container='<name of a "
                        "module whose children are the blocks>', or watch layers of your own with nonshiftability()")
    stem: list[tuple[str, nn.Module]] = []
    for n, child in model.named_children():
        if n == "layer1":
            break
        stem += [(f"{n}.{k}" if k else n, m) for k, m in child.named_modules() if isinstance(m, kinds)]
    if not stem:
        raise ValueError(f"no activation of types {kinds} in the stem (the modules before layer1)")
    blocks = [(f"layer{i}.{n}", block) for i, stage in enumerate(stages, 1)
              for n, block in stage.named_children()]
    return [stem[-1], *blocks]


def mnist_nonshiftability(model: nn.Module, images: torch.Tensor, shifts: Sequence[int] = tuple(range(-4, 4)),
                          threshold: float = 0.2) -> Nonshiftability:
    """Non-shiftability of every ReLU/pool output of an MNIST model (all channels) as the digits move
    vertically by ``shifts`` pixels (zero fill, :func:`shiftlab.translate`)."""
    dev = next(model.parameters()).device
    x = images.to(dev)
    frames = torch.stack([translate(x, 0, int(d), "zero") for d in shifts])
    return nonshiftability(model, frames, feature_layers(model), maps_per_layer=None, threshold=threshold,
                           shifts=np.asarray(shifts))
