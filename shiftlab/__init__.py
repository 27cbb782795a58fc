"""shiftlab: the helper package of the course on translation invariance in CNNs.

One small module per idea:

========================  ====================================================
``shiftlab.config``       quick mode, seeding, data and cache folders
``shiftlab.device``       device choice and :func:`doctor`
``shiftlab.shifts``       batched integer translations (zero or circular fill)
``shiftlab.data``         MNIST as tensors, offline first
``shiftlab.equivariance`` equivariance and invariance errors of any image map
``shiftlab.features``     fixed edge detectors for real feature maps
``shiftlab.pooling``      max pooling toys and the unchanged-fraction measurement
``shiftlab.global_pool``  global pooling: exact invariance and how a stride breaks it
``shiftlab.plotting``     figure helpers; ``shiftlab.widgets``: interactive views
``shiftlab.book``         glue, repository URL, notebook tools
========================  ====================================================
"""

from .book import glue
from .config import cache_dir, data_root, in_colab, is_quick, quick_or_full, seed_everything
from .data import MnistSplit, load_mnist
from .device import DoctorReport, doctor, get_device
from .equivariance import equivariance_error, invariance_error, make_conv
from .shifts import shift_grid, translate, translate_grid

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
    "shift_grid",
    "translate",
    "translate_grid",
]
