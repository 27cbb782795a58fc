"""Layer 6, everything drawn: figures and interactive explorers.

``plotting``         book style, image rows, heatmaps, tables
``widgets``          the equivariance and pooling explorers
``mnist_explorers``  MNIST result figures and the digit explorer
``width_plots``      the width study: shift accuracy and the pooling gap against width
``control_plots``    the MNIST controls: ink kept per shift, FC against GAP heads
``imagenet_plots``   the ImageNet shift chapter's figures
``tta_plots``        the test-time augmentation figures
``bias_plots``       ImageNet box-centre and MNIST centring figures
``beyond_plots``     the figures of chapters 10-12
``transfer_plots``   Biscione & Bowers' sequential protocol: pretraining curve, new classes by distance
``animations``       the explorers as players that run in the static book (jshtml frames)
``schematics``       drawn diagrams: pooling phase, polyphase/APS, BlurPool, shift protocols
"""
