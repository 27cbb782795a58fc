"""Layer 1, data: MNIST, ImageNet photos and the ImageNet box table (imports only ``core``).

``mnist``    MNIST as tensors, offline first (``SHIFTLAB_DATA``), else torchvision's download
``photos``   ImageNet validation photos and labels
``boxes``    the ImageNet validation boxes that ship with the package (``files/``)
"""
