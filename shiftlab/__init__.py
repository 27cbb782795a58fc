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
``shiftlab.models``       the MNIST models A, B, C; ``augment``: batched random shifts
``shiftlab.train``        the on-device trainer and its load-or-train cache
``shiftlab.cache``        verified cache files (atomic write, SHA-256 checked on load)
``shiftlab.evaluate``     accuracy over shift grids, the article's columns, sensitivity maps
``shiftlab.experiments``  the six MNIST configurations x seeds (``reproduce mnist``)
``shiftlab.bench``        trainer vs textbook loop; ``imagenet_bench``: batched shifts
``shiftlab.imagenet``     pretrained ImageNet models (online) and the offline MobileNetV2
``shiftlab.photos``       ImageNet validation photos and labels
``shiftlab.protocols``    crop / embed / inpaint shift protocols, Zhang crops, rescaling
``shiftlab.shift_metrics`` P(top-1 change), MAC, consistency, barcodes, scale, resize
``shiftlab.aliasing``     aliasing and shiftability demos in 1-D and 2-D
``shiftlab.antialias``    binomial filters, BlurPool, anti-aliased variants of model C
``shiftlab.aps``          adaptive polyphase sampling
``shiftlab.probe``        subsampling factor by probing; per-layer non-shiftability
``shiftlab.boxes``        the ImageNet validation boxes that ship with the package
``shiftlab.position_bias`` box-centre histograms and per-class uniformity tests
``shiftlab.mnist_bias``   MNIST centres of mass, re-centring
``shiftlab.tta``          test-time augmentation over shifts, batched
========================  ====================================================
"""

from .book import glue
from .boxes import BoxTable, load_boxes
from .config import cache_dir, data_root, in_colab, is_quick, quick_or_full, seed_everything
from .data import MnistSplit, load_mnist
from .device import DoctorReport, doctor, get_device
from .equivariance import equivariance_error, invariance_error, make_conv
from .experiments import MnistSettings, run_mnist
from .imagenet import load_imagenet_model
from .models import make_model
from .photos import load_photos
from .plotting import use_book_style
from .train import TrainConfig, load_or_train, train_model
from .tta import tta_predict
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
