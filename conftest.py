"""Test configuration: every test, and every notebook nbval runs, is in quick mode.

``SHIFTLAB_DATA`` is made absolute here, because notebook kernels run in ``notebooks/`` and a
relative path (``.ci/run`` uses ``../shared/data``) would point elsewhere from there.
"""

import os
from pathlib import Path

os.environ["SHIFTLAB_QUICK"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
if os.environ.get("SHIFTLAB_DATA"):
    os.environ["SHIFTLAB_DATA"] = str(Path(os.environ["SHIFTLAB_DATA"]).expanduser().resolve())
