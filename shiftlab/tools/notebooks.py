"""The notebook tools: the repository URL, the Colab badge and setup cell stamped into every
chapter, and re-executing the chapters (glue for numbers lives in :mod:`shiftlab.core.glue`).

The repository URL has exactly one home, ``repository.url`` in ``_config.yml``; the badges and
setup cells of the notebooks are stamped from it by ``python -m shiftlab notebooks sync`` and a
test checks that they agree.

On Colab the setup cell installs shiftlab with ``pip install --no-deps git+REPO_URL``. The
environment variable ``SHIFTLAB_INSTALL`` replaces that requirement with any other that pip
understands: a wheel (``/content/shiftlab-0.1.0-py3-none-any.whl``), a branch or a fork
(``git+https://github.com/OWNER/NAME@BRANCH``). ``tests/test_colab_style.py`` uses it to install
a wheel built from the working tree.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from shiftlab.core.config import SetupError

__all__ = [
    "project_root",
    "repository_url",
    "colab_badge",
    "setup_source",
    "sync_notebook",
    "execute_notebook",
    "notebook_paths",
    "check_notebook",
]

BADGE_MARK = "<!-- colab-badge -->"
SETUP_MARK = "# shiftlab setup cell"


def project_root(start: Path | None = None) -> Path:
    """The folder that holds ``_config.yml`` (searched upwards from ``start`` or the cwd)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file():
            return folder
    raise FileNotFoundError(f"no _config.yml found in {here} or its parents: run this from the repository")


def repository_url(root: Path | None = None) -> str:
    """``repository.url`` from ``_config.yml`` (no trailing slash)."""
    import yaml

    cfg = yaml.safe_load((project_root(root) / "_config.yml").read_text(encoding="utf-8"))
    try:
        url = str(cfg["repository"]["url"]).rstrip("/")
    except (KeyError, TypeError) as exc:
        raise KeyError("_config.yml has no repository.url") from exc
    if not re.match(r"^https://github\.com/[^/]+/[^/]+$", url):
        raise ValueError(f"repository.url must be https://github.com/OWNER/NAME, got {url!r}")
    return url


def _branch(root: Path | None = None) -> str:
    import yaml

    cfg = yaml.safe_load((project_root(root) / "_config.yml").read_text(encoding="utf-8"))
    return str(cfg.get("repository", {}).get("branch", "main"))


def colab_badge(url: str, notebook: str, branch: str = "main") -> str:
    """Markdown for the "Open in Colab" badge of one notebook (path relative to the repo)."""
    slug = url.removeprefix("https://github.com/")
    return (
        f"{BADGE_MARK}\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{slug}/blob/{branch}/{notebook})"
    )


def setup_source(url: str) -> str:
    """The idempotent setup cell: on Colab install shiftlab (leaving torch alone), then seed and
    report the device.

    The install runs only on Colab and only while ``shiftlab`` is not importable, so running the
    cell again does nothing new. It installs ``git+<url>``, or ``$SHIFTLAB_INSTALL`` when that is
    set (any pip requirement: a wheel path, a git URL with a branch).
    """
    return f'''{SETUP_MARK}: run me first. Safe to run again.
REPO_URL = "{url}"
import importlib.util, os, subprocess, sys
if "google.colab" in sys.modules and importlib.util.find_spec("shiftlab") is None:
    # --no-deps: Colab's own torch, torchvision, matplotlib, tqdm and ipywidgets stay.
    # SHIFTLAB_INSTALL, when set, is installed instead (a wheel, git+URL@branch)
    source = os.environ.get("SHIFTLAB_INSTALL") or f"git+{{REPO_URL}}"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run(pip + [source], check=True)
    importlib.invalidate_caches()  # make the new package visible to this kernel
import shiftlab
shiftlab.seed_everything(0)
shiftlab.use_book_style()  # sharp figures, sized for the page
report = shiftlab.doctor(brief=True)'''


def notebook_paths(root: Path | None = None) -> list[Path]:
    """All chapter notebooks, in file-name order."""
    return sorted((project_root(root) / "notebooks").glob("*.ipynb"))


def check_notebook(path: Path, root: Path | None = None) -> Path:
    """``path``, resolved, if it is a chapter notebook: an existing ``.ipynb`` file inside the
    repository's ``notebooks/`` folder that holds notebook JSON (``notebooks run`` checks every
    path with this before it runs the first one).

    Raises:
        SetupError: naming the path, what is wrong and what is accepted.
        FileNotFoundError: when no repository (``_config.yml``) is found.
    """
    folder = project_root(root) / "notebooks"
    accepted = f"give chapter notebooks (.ipynb files) in {folder}, or no path to run them all"
    full = Path(path).expanduser().resolve()
    if not full.exists():
        raise SetupError(f"notebooks run: {path} does not exist; {accepted}")
    if full.is_dir():
        raise SetupError(f"notebooks run: {path} is a folder, not a notebook; {accepted}")
    if full.suffix != ".ipynb":
        raise SetupError(f"notebooks run: {path} is not a notebook (.ipynb) file; {accepted}")
    if not full.is_relative_to(folder):
        raise SetupError(f"notebooks run: {path} is outside the repository's notebooks folder; {accepted}")
    try:
        nb = json.loads(full.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SetupError(f"notebooks run: {path} is not a UTF-8 text file ({exc.reason}); {accepted}") from exc
    except json.JSONDecodeError as exc:
        raise SetupError(f"notebooks run: {path} is not valid notebook JSON ({exc.msg} at line {exc.lineno}); "
                         f"restore it (e.g. git checkout -- {path}) or {accepted}") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SetupError(f"notebooks run: {path} is JSON but not a Jupyter notebook (it has no list of cells); "
                         f"{accepted}")
    return full


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def sync_notebook(path: Path, root: Path | None = None) -> bool:
    """Stamp the badge (second line of the first markdown cell) and the setup cell (first code
    cell, recognised by its first line) with the repository URL. Returns True if it changed."""
    url, branch = repository_url(root), _branch(root)
    rel = path.resolve().relative_to(project_root(root)).as_posix()
    nb = json.loads(path.read_text(encoding="utf-8"))
    changed = False
    md = next((c for c in nb["cells"] if c["cell_type"] == "markdown"), None)
    code = next((c for c in nb["cells"] if c["cell_type"] == "code"), None)
    if md is None or code is None:
        raise ValueError(f"{path}: needs a markdown title cell and a setup code cell")
    badge = colab_badge(url, rel, branch)
    text = _source(md)
    if BADGE_MARK in text:
        new = re.sub(re.escape(BADGE_MARK) + r"\n[^\n]*", badge, text)
    else:
        lines = text.split("\n")
        new = "\n".join([lines[0], "", badge] + lines[1:])
    if new != text:
        md["source"], changed = new, True
    if not _source(code).startswith(SETUP_MARK):
        raise ValueError(f"{path}: the first code cell must be the setup cell (starting {SETUP_MARK!r})")
    if _source(code) != setup_source(url):
        code["source"], changed = setup_source(url), True
    if changed:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def execute_notebook(path: Path, quick: bool = False, timeout: int | None = None) -> float:
    """Run a notebook top to bottom in place (full mode unless ``quick``); returns seconds.

    ``timeout`` limits each cell (seconds); the default, None, sets no limit, because a
    full-mode training cell on a small CPU can take longer than any fixed limit (3 seeds of the
    MNIST models took over 30 minutes on a loaded 2-core machine).

    The kernel runs without ``MPLBACKEND`` (a non-interactive backend such as ``Agg`` set for the
    tests would drop every figure a cell shows with ``plt.show()``); it is restored afterwards.

    Raises the first cell error, leaving the file untouched.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # the book's run: quick or full mode; no progress bars (tqdm's widgets keep no state in a saved
    # notebook and render as empty boxes); slider views as a line of text (see viz.widgets.StaticNote)
    book_env = {"SHIFTLAB_QUICK": "1" if quick else "0", "TQDM_DISABLE": "1", "SHIFTLAB_BOOK_RUN": "1"}
    env_before = {k: os.environ.get(k) for k in book_env}
    backend_before = os.environ.pop("MPLBACKEND", None)
    os.environ.update(book_env)
    start = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                t0 = time.perf_counter()
                client.execute_cell(cell, index)
                print(f"    cell {index:3d}: {time.perf_counter() - t0:6.1f} s", flush=True)
        nb.metadata.pop("widgets", None)
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if backend_before is not None:
            os.environ["MPLBACKEND"] = backend_before
    nbformat.write(nb, path)
    return time.perf_counter() - start
