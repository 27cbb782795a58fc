"""Layer 3, measurements: pure functions of models and tensors (imports ``core``, ``data``, ``nn``).

``equivariance``    equivariance and invariance errors of any image map
``pooling``         max-pooling toys and the unchanged-fraction measurement
``global_pool``     global pooling: exact invariance and how a stride breaks it
``sampling``        aliasing and shiftability in 1-D and 2-D (the sampling theorem)
``shift_accuracy``  accuracy over shift grids, the article's columns, consistency on MNIST
``ink``             that accuracy split by whether a shift keeps the digit's ink in the frame
``shift_metrics``   P(top-1 change), MAC, jaggedness, consistency, bootstrap intervals
``protocols``       crop / embed / inpaint shift protocols, Zhang crops, rescaling
``photo_shifts``    an ImageNet model measured on shifted, cropped and rescaled photos
``probe``           subsampling factor by probing; per-layer non-shiftability
``centring``        MNIST centres of mass, re-centring
``position_bias``   box-centre statistics: chi-square, Monte Carlo, placement, Holm, BH
``tta``             test-time augmentation over shifts, batched
``worst_shift``     average, worst-of-random and worst-case accuracy under shifts
``move_protocols``  roll / crop (mosaic window) / embed for digits, consistency under each
``layerwise``       per-layer equivariance error with accumulated strides
"""
