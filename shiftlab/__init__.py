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

from shiftlab.core.config import cache_dir, data_root, in_colab, is_quick, quick_or_full, seed_everything
from shiftlab.core.device import DoctorReport, doctor, get_device
from shiftlab.core.glue import glue
from shiftlab.core.shifts import shift_grid, translate, translate_grid
from shiftlab.data.boxes import BoxTable, load_boxes
from shiftlab.data.mnist import MnistSplit, load_mnist
from shiftlab.data.photos import load_photos
from shiftlab.measure.equivariance import equivariance_error, invariance_error, make_conv
from shiftlab.measure.tta import tta_predict
from shiftlab.nn.imagenet_models import load_imagenet_model
from shiftlab.nn.mnist_models import make_model
from shiftlab.studies.mnist_pooling import MnistSettings, run_mnist
from shiftlab.train.trainer import TrainConfig, load_or_train, train_model
from shiftlab.viz.plotting import use_book_style

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
