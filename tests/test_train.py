import warnings

import pytest
import torch

from shiftlab.data.mnist import MnistSplit
from shiftlab.train.trainer import TrainConfig, load_or_train, model_cache_path, train_model


@pytest.fixture(scope="module")
def tiny():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(300, 1, 28, 28, generator=g)
    y = (x[:, 0, :14].mean((1, 2)) > x[:, 0, 14:].mean((1, 2))).long()  # a learnable label
    return MnistSplit(x, y)


def _cfg(**kw):
    base = dict(model="C", augment=True, epochs=2, batch_size=64, train_size=256, channels=(4, 8), hidden=16)
    base.update(kw)
    return TrainConfig(**base)


def _same(m1, m2):
    return all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_seeded_determinism(tiny):
    a = train_model(_cfg(), tiny, device="cpu", progress=False)
    b = train_model(_cfg(), tiny, device="cpu", progress=False)
    c = train_model(_cfg(seed=1), tiny, device="cpu", progress=False)
    assert _same(a.model, b.model)
    for name in ("step_loss", "step_acc", "epoch_loss", "epoch_acc"):  # everything but the timings
        assert getattr(a.history, name) == getattr(b.history, name)
    assert not _same(a.model, c.model)
    h = a.history
    assert len(h.epoch_loss) == len(h.epoch_acc) == len(h.epoch_seconds) == 2 and len(h.step_loss) >= 2
    assert all(v != v for v in h.epoch_test_acc)  # NaN without a test split


def test_training_learns(tiny):
    tm = train_model(_cfg(augment=False, epochs=4, model="A"), tiny, tiny, device="cpu", progress=False)
    assert tm.history.epoch_loss[-1] < tm.history.epoch_loss[0]
    assert 0.0 <= tm.history.epoch_test_acc[-1] <= 1.0


def test_config_key_and_validation():
    assert _cfg().key() == _cfg().key()
    assert _cfg().key() != _cfg(seed=1).key() != _cfg(augment=False).key()
    assert _cfg().key() != _cfg(train_size=128).key()
    with pytest.raises(ValueError):
        TrainConfig(model="Z")
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError):
        TrainConfig(seed=-1)


def test_cache_hit_miss_and_corruption(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    cfg = _cfg(epochs=1)
    first = load_or_train(cfg, device="cpu", progress=False, train=tiny, test=tiny)
    assert not first.from_cache and model_cache_path(cfg).exists()
    second = load_or_train(cfg, device="cpu", progress=False, train=tiny, test=tiny)
    assert second.from_cache and _same(first.model, second.model) and second.history == first.history
    assert second.history.epoch_seconds == first.history.epoch_seconds  # the stored history, not a new one
    other = load_or_train(_cfg(epochs=1, seed=5), device="cpu", progress=False, train=tiny)
    assert not other.from_cache
    path = model_cache_path(cfg)
    path.write_bytes(path.read_bytes()[:-100])  # truncated file
    with pytest.warns(UserWarning, match="corrupt"):
        third = load_or_train(cfg, device="cpu", progress=False, train=tiny, test=tiny)
    assert not third.from_cache and _same(third.model, first.model)  # retrained, same numbers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_or_train(cfg, device="cpu", progress=False, train=tiny).from_cache  # rewritten, valid


def test_train_size_larger_than_split(tiny):
    with pytest.raises(ValueError):
        train_model(_cfg(train_size=1000), tiny, device="cpu", progress=False)


@pytest.fixture
def cache_is_a_file(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))


def test_unusable_cache_fails_before_training(tiny, cache_is_a_file, monkeypatch):
    import shiftlab.train.trainer as T
    from shiftlab.core.config import SetupError

    def must_not_train(*args, **kwargs):
        raise AssertionError("trained although the model could not be saved")

    monkeypatch.setattr(T, "train_model", must_not_train)
    with pytest.raises(SetupError, match="SHIFTLAB_CACHE.*--no-cache"):
        load_or_train(_cfg(epochs=1), device="cpu", progress=False, train=tiny)


def test_without_the_cache_nothing_is_read_or_written(tiny, cache_is_a_file, tmp_path):
    tm = load_or_train(_cfg(epochs=1), device="cpu", progress=False, train=tiny, use_cache=False)
    assert not tm.from_cache and tm.history.epoch_loss
