"""Layer 5, the chapters' experiments: each trains or loads, measures and caches one study.

``mnist_pooling``    models A/B/C with and without augmentation x seeds (chapters 05, 06)
``mnist_variants``   BlurPool-C and APS-C beside A/B/C (chapter 08)
``imagenet_shifts``  the ImageNet shift study (chapter 07)
``nonshiftability``  subsampling factors of real networks, per-layer non-shiftability (08)
``tta_study``        test-time augmentation on MNIST and ImageNet (chapter 09)
"""
