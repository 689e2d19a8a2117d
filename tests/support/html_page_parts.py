"""Read an llmstats HTML page back: its tags and attributes, its tables, its chart JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class PageParts:
    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    scripts: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def charts(self) -> dict[str, dict[str, Any]]:
        for attrs, body in self.scripts:
            if attrs.get("id") == "llmstats-charts":
                return {chart["id"]: chart["figure"] for chart in json.loads(body)}
        return {}

    def table_rows(self, table_id: str) -> list[dict[str, str]]:
        table = self.tables[table_id]
        return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts = PageParts()
        self._script: tuple[dict[str, str | None], list[str]] | None = None
        self._table: dict[str, Any] | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.parts.tags.append((tag, attributes))
        if tag == "script":
            self._script = (attributes, [])
        elif tag == "table":
            self._table = {"columns": [], "rows": []}
            self.parts.tables[str(attributes.get("id"))] = self._table
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.parts.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if not self._table["columns"]:
                self._table["columns"] = self._row
            else:
                self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)
        elif self._cell is not None:
            self._cell.append(data)


def read_page(text: str) -> PageParts:
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return reader.parts
