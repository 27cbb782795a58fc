"""Read what the committed notebooks show: glued values, cells. Shared by the book tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shiftlab.core.glue import GLUE_PREFIX

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def src(cell: dict[str, Any]) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def glued(path: Path) -> dict[str, tuple[Any, str | None]]:
    """name -> (value, kind) for every value the notebook glued (text/plain parsed)."""
    values: dict[str, tuple[Any, str | None]] = {}
    for cell in load(path)["cells"]:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {})
            if "scrapbook" not in meta:
                continue
            name = meta["scrapbook"]["name"]
            text = "".join(out["data"].get(GLUE_PREFIX + "text/plain", ""))
            kind = meta.get("shiftlab", {}).get("kind")
            try:
                value: Any = float(text) if not text.startswith(("'", '"')) else text.strip("'\"")
            except ValueError:
                value = text
            if text in ("True", "False"):
                value = text == "True"
            values[name] = (value, kind)
    return values



def values(stem: str) -> dict[str, Any]:
    """name -> value of everything notebook ``notebooks/<stem>.ipynb`` glued."""
    return {k: v for k, (v, _) in glued(ROOT / "notebooks" / f"{stem}.ipynb").items()}
