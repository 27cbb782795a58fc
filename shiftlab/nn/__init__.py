"""Layer 2, networks and layers (imports ``core``, ``data``).

``blurpool``         binomial filters, BlurPool, anti-aliased max pool and conv (a layer file)
``aps``              adaptive polyphase sampling, and the all-circular :class:`CircularNet`
``mnist_models``     the MNIST models A, B, C, with the pooling layer as an argument
``imagenet_models``  pretrained ImageNet models (online) and the offline MobileNetV2
``edge_filters``     fixed edge detectors that make real feature maps
``fcn``              a fully convolutional network with global pooling and a padding choice
``canvas_models``    the canvas networks: one body, an FC or a global-average-pool head
"""
