"""A stand-in for Colab's ``google.colab`` package, for tests/test_colab_style.py.

Colab imports ``google.colab`` when its kernel starts; the test kernel's ``sitecustomize`` (one
folder up) imports this module instead, so that ``"google.colab" in sys.modules`` and
``shiftlab.in_colab()`` are true and the setup cell takes its Colab branch. ``google`` has no
``__init__.py``: it stays a namespace package, so a real ``google.protobuf`` still imports.
"""

#: lets a test tell this stand-in from the real package
SHIFTLAB_FAKE = True
