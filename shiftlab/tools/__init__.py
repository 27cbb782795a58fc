"""Layer 7, tools on top of everything: the command line and the notebook machinery.

``cli``             ``python -m shiftlab`` (doctor, reproduce, bench, notebooks)
``notebooks``       Colab badge and setup cell stamping, re-executing chapters
``bench``           the trainer against the textbook DataLoader loop
``imagenet_bench``  batched against one-at-a-time shift evaluation
"""
