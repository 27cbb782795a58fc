"""Layer 1, data: MNIST, ImageNet photos and the ImageNet box table (imports only ``core``).

``mnist``    MNIST as tensors, offline first (``SHIFTLAB_DATA``), else torchvision's download
``photos``   ImageNet validation photos and labels
``imagenette`` Imagenette's validation photos (10 ImageNet classes, 320 px) through torchvision's
             download, labelled with ImageNet-1k indices: what ``load_photos("auto")`` reads
             when ``SHIFTLAB_DATA`` has no photos
``boxes``    the ImageNet validation boxes that ship with the package (``files/``)
``patches``  the position toy: a random patch near the left or the right border (chapter 10)
``canvas``   MNIST digits pasted at any position of a larger canvas (chapter 11)
"""
