"""Chapter 11's training loop (:func:`fit_canvas`) and its held-out set (:func:`validation_set`):
training stops when the held-out digits reach the target, the learning rate decays per epoch,
a frozen body keeps its batch-norm statistics, bad arguments fail clearly."""

from __future__ import annotations

import pytest
import torch

from shiftlab.nn.canvas_models import CanvasNet
from shiftlab.studies.learned_invariance import CENTRE, EVERYWHERE, LEFT, fit_canvas, validation_set


def _digits(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 4:24, 4:24] = torch.rand(n, 1, 20, 20, generator=gen)
    return x, torch.arange(n) % 10


def _fit(model: torch.nn.Module, params=None, **kw):
    x, y = _digits()
    args = dict(epochs=2, batch_size=16, lr=1e-2, lr_decay=1.0, seed=0, progress=False)
    args.update(kw)
    return fit_canvas(model, list(model.parameters()) if params is None else params, x, y,
                      (CENTRE, CENTRE), **args)


def test_validation_set_places_each_class_in_its_region():
    x, y = _digits(40)
    val = validation_set(x, y, (LEFT, CENTRE), seed=3)
    assert val.canvases.shape == (40, 1, 56, 56) and torch.equal(val.labels, y)
    assert torch.allclose(val.canvases.sum((1, 2, 3)), x.sum((1, 2, 3)))     # nothing cropped
    for c, label in zip(val.canvases[:, 0], y):
        rows, cols = c.sum(1).nonzero()[:, 0], c.sum(0).nonzero()[:, 0]
        top, left = int(rows.min()) - 4, int(cols.min()) - 4                # the ink starts 4 px in
        y0, y1, x0, x1 = LEFT if label < 5 else CENTRE
        assert y0 <= top <= y1 and x0 <= left <= x1
    again = validation_set(x, y, (LEFT, CENTRE), seed=3)
    assert torch.equal(again.canvases, val.canvases)                         # fixed by the seed
    assert not torch.equal(validation_set(x, y, (EVERYWHERE, EVERYWHERE), seed=4).canvases,
                           validation_set(x, y, (EVERYWHERE, EVERYWHERE), seed=5).canvases)


def test_stops_as_soon_as_the_target_is_reached():
    x, y = _digits(32, seed=1)
    val = validation_set(x, y, (CENTRE, CENTRE), seed=0)
    torch.manual_seed(0)
    hist = _fit(CanvasNet("gap", (2, 4), 8), epochs=5, val=val, target=1e-6)
    assert hist["reached"] and hist["epochs_run"] == 1 and len(hist["val_acc"]) == 1
    torch.manual_seed(0)
    hist = _fit(CanvasNet("gap", (2, 4), 8), epochs=3, val=val, target=None)
    assert not hist["reached"] and hist["epochs_run"] == 3
    assert len(hist["val_acc"]) == len(hist["epoch_loss"]) == len(hist["epoch_acc"]) == 3
    assert all(0 <= a <= 1 for a in hist["val_acc"] + hist["epoch_acc"]) and hist["seconds"] > 0


def _weights_after(epochs: int, lr_decay: float) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = CanvasNet("fc", (2, 4), 8, batchnorm=False)
    _fit(net, epochs=epochs, lr_decay=lr_decay)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_the_learning_rate_decays_after_every_epoch():
    one = _weights_after(1, 1e-12)
    two = _weights_after(2, 1e-12)          # the second epoch runs at lr 1e-14: nothing moves
    assert all(torch.allclose(one[k], two[k], atol=1e-9) for k in one)
    two_const = _weights_after(2, 1.0)      # without decay the second epoch does move them
    assert any(not torch.allclose(one[k], two_const[k], atol=1e-6) for k in one)


def test_frozen_body_keeps_the_batch_norm_statistics():
    for frozen in (True, False):
        torch.manual_seed(0)
        net = CanvasNet("gap", (2, 4), 8)
        buffers = {k: v.clone() for k, v in net.named_buffers() if "running" in k}
        hist = _fit(net, params=list(net.head.parameters()), frozen_body=frozen, epochs=1)
        same = all(torch.equal(v, dict(net.named_buffers())[k]) for k, v in buffers.items())
        assert same == frozen and hist["epochs_run"] == 1
        assert not net.training                                              # returned in eval mode


@pytest.mark.parametrize("kw, match", [
    (dict(lr_decay=0.0), "lr_decay"), (dict(lr_decay=1.5), "lr_decay"),
    (dict(target=0.9), "validation set"),
    (dict(target=1.5, val=validation_set(*_digits(8), (CENTRE, CENTRE), 0)), "validation set"),
])
def test_bad_arguments_fail_clearly(kw, match):
    with pytest.raises(ValueError, match=match):
        _fit(CanvasNet("gap", (2, 4), 8), **kw)
