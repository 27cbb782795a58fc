"""Layer 0, the foundation: imports nothing else from shiftlab.

``config``   quick mode, seeding, data and cache folders, :class:`SetupError`
``device``   device choice and :func:`doctor`
``shifts``   batched integer translations (zero or circular fill), shift grids
``cache``    the one cache API: verified files, one path and version scheme, load-or-compute
``glue``     numbers computed in a notebook, shown in its prose, with their kind checked
"""
