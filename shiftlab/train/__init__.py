"""Layer 4, training (imports the layers below it).

``augment``  batched random-shift augmentation
``trainer``  the on-device MNIST trainer and its load-or-train cache
"""
