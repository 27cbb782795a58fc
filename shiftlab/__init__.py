"""shiftlab: the helper package of the course on translation invariance in CNNs.

The package is layered; every module imports only from its own subpackage or from the
layers above it in this list (a test, ``tests/test_layers.py``, fails on any other import):

=============  =====================================================================
``core``       config, device, shifts, the cache API, glue (imports nothing of shiftlab)
``data``       MNIST, ImageNet photos, the shipped ImageNet box table, the position toy,
               the digit canvas
``nn``         layers (BlurPool, APS) and models (MNIST A/B/C with ``pool=``,
               ``padding_mode=`` and ``head=`` arguments, ImageNet models, the position
               toy's FCN, the canvas networks)
``measure``    pure measurements: equivariance, pooling, aliasing, shift accuracy and
               metrics, protocols, probes, position statistics, TTA, worst case, the
               three shift protocols, per-layer equivariance
``train``      batched augmentation and the on-device trainer
``studies``    the chapters' cached experiments (MNIST pooling, variants, ImageNet
               shifts, non-shiftability, TTA, borders, learned invariance, robustness,
               per-layer errors)
``viz``        every figure and widget
``tools``      the command line, notebook tools, benchmarks
=============  =====================================================================

Each subpackage's docstring lists its modules. The names below are the public API the
chapters use most; everything else is imported from its module, e.g.
``from shiftlab.measure.shift_metrics import p_top1_change``.
"""

import importlib
from typing import Any

#: where each public name lives. The names are imported on first use (PEP 562), not here, so
#: that ``import shiftlab`` and ``python -m shiftlab --help`` do not wait for torch, torchvision
#: and matplotlib; ``shiftlab.load_mnist`` and ``from shiftlab import load_mnist`` work as usual.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["cache_dir", "data_root", "in_colab", "is_quick", "quick_or_full", "seed_everything"],
                    "shiftlab.core.config"),
    **dict.fromkeys(["DoctorReport", "doctor", "get_device"], "shiftlab.core.device"),
    "glue": "shiftlab.core.glue",
    **dict.fromkeys(["shift_grid", "translate", "translate_grid"], "shiftlab.core.shifts"),
    **dict.fromkeys(["BoxTable", "load_boxes"], "shiftlab.data.boxes"),
    **dict.fromkeys(["MnistSplit", "load_mnist"], "shiftlab.data.mnist"),
    "load_photos": "shiftlab.data.photos",
    **dict.fromkeys(["equivariance_error", "invariance_error", "make_conv"], "shiftlab.measure.equivariance"),
    "tta_predict": "shiftlab.measure.tta",
    "load_imagenet_model": "shiftlab.nn.imagenet_models",
    "make_model": "shiftlab.nn.mnist_models",
    **dict.fromkeys(["MnistSettings", "run_mnist"], "shiftlab.studies.mnist_pooling"),
    **dict.fromkeys(["TrainConfig", "load_or_train", "train_model"], "shiftlab.train.trainer"),
    "use_book_style": "shiftlab.viz.plotting",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shiftlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later uses find it directly
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__version__ = "0.1.0"

__all__ = [
    "__version__",
    "glue",
    "cache_dir",
    "data_root",
    "in_colab",
    "is_quick",
    "quick_or_full",
    "seed_everything",
    "MnistSplit",
    "load_mnist",
    "DoctorReport",
    "doctor",
    "get_device",
    "equivariance_error",
    "invariance_error",
    "make_conv",
    "MnistSettings",
    "run_mnist",
    "load_imagenet_model",
    "make_model",
    "load_photos",
    "use_book_style",
    "TrainConfig",
    "load_or_train",
    "train_model",
    "BoxTable",
    "load_boxes",
    "tta_predict",
    "shift_grid",
    "translate",
    "translate_grid",
]
