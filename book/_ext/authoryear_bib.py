"""A bibliography style whose labels read "Azulay & Weiss 2019", to match the author-year
citations in the text (pybtex's default "alpha" labels look like "[AW19]").

Loaded by Sphinx as a local extension (``_config.yml``: ``sphinx.local_extensions``); it
registers the pybtex plugins ``authoryear`` (labels) and ``authoryear`` (formatting: pybtex's
``plain`` entries, sorted by author, year and title, with these labels).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person: Any) -> str:
    """The person's last name(s) as plain text (LaTeX accents such as {\\'c} decoded)."""
    return Text.from_latex(" ".join(person.last_names)).render_as("text")


class AuthorYearLabels(BaseLabelStyle):
    """"Zhang 2019", "Azulay & Weiss 2019", "Sandler et al. 2018"."""

    def format_labels(self, sorted_entries: Iterable[Any]) -> Iterator[str]:
        for entry in sorted_entries:
            names = [_surname(p) for p in entry.persons.get("author", [])]
            if len(names) > 2:
                who = f"{names[0]} et al."
            elif len(names) == 2:
                who = f"{names[0]} & {names[1]}"
            else:
                who = names[0] if names else entry.key
            yield f"{who} {entry.fields.get('year', '')}".strip()


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)


def setup(app: Any) -> dict[str, bool]:
    return {"parallel_read_safe": True, "parallel_write_safe": True}
