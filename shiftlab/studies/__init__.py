"""Layer 5, the chapters' experiments: each trains or loads, measures and caches one study.

``mnist_pooling``    models A/B/C with and without augmentation x seeds (chapters 05, 06)
``width_study``      the same at four conv widths: the pooling gap against width (05)
``mnist_controls``   their controls: GAP heads of equal size, accuracy where the ink is kept (05, 06)
``mnist_variants``   BlurPool-C and APS-C beside A/B/C (chapter 08)
``imagenet_shifts``  the ImageNet shift study (chapter 07)
``nonshiftability``  subsampling factors of real networks, per-layer non-shiftability (08)
``tta_study``        test-time augmentation on MNIST and ImageNet (chapter 09)
``borders_toy``      the position toy under four paddings (chapter 10)
``layerwise_study``  per-layer equivariance of the MNIST and ImageNet networks (chapter 10)
``learned_invariance`` digits on a canvas: trained at some positions, tested at all (chapter 11)
``invariance_transfer`` Biscione & Bowers' sequential protocol: new classes at one place (11)
``robustness``       worst case and the three shift protocols on MNIST (chapter 12)
"""
