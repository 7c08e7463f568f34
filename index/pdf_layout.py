"""Page furniture of printed reports, removed from a PDF's text layer before cleaning.

Long provincial reports repeat things on every page that are not content: a running header
("UBND tỉnh … – Báo cáo …"), a footer ("Trang 5/35"), and a table's header row at the top of each
page the table continues on. Left in, they split sentences mid-way and turn into passages that
match every question about the document.
"""
from __future__ import annotations

import re
from collections import Counter

EDGE_LINES = 2  # how many lines at the top and at the bottom of a page can be furniture
RUNNING_SHARE = 0.5  # a line repeated at the edge of at least this share of pages is furniture
MIN_PAGES = 3
RE_TABLE_HEADER = re.compile(r"^(STT|TT|Số TT)\b", re.IGNORECASE)
RE_FIRST_ROW = re.compile(r"^1(?:\s|$)")


def _shape(line: str) -> str:
    """'Trang 5/35' and 'Trang 6/35' have one shape: digits do not count."""
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Remove lines repeated at the top or bottom edge of most pages (running headers and footers)."""
    if len(pages) < MIN_PAGES:
        return pages
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = {_shape(ln) for ln in lines[:EDGE_LINES] + lines[-EDGE_LINES:] if ln.strip()}
        counts.update(edge)
    needed = max(MIN_PAGES, RUNNING_SHARE * len(pages))
    running = {shape for shape, n in counts.items() if n >= needed and re.search(r"[^\W\d_]", shape)}
    if not running:
        return pages
    out = []
    for lines in pages:
        lines = list(lines)
        while lines and _shape(lines[0]) in running:
            lines.pop(0)
        while lines and _shape(lines[-1]) in running:
            lines.pop()
        out.append(lines)
    return out


def _header_at(lines: list[str], start: int) -> tuple[str, ...] | None:
    """The table header row(s) beginning at `start`: every line up to the first data row ('1 …')."""
    end = next((i for i in range(start + 1, min(len(lines), start + 12)) if RE_FIRST_ROW.match(lines[i].strip())),
               None)
    return tuple(ln.strip() for ln in lines[start:end]) if end is not None else None


def drop_repeated_table_headers(pages: list[list[str]]) -> list[list[str]]:
    """A table spanning pages repeats its header row ('STT', 'Nội dung', …) on each: keep the first one."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for lines in pages:
        lines = list(lines)
        for header in sorted(seen, key=len, reverse=True):
            if tuple(ln.strip() for ln in lines[:len(header)]) == header:
                lines = lines[len(header):]
                break
        for i, line in enumerate(lines):
            if RE_TABLE_HEADER.match(line.strip()) and (header := _header_at(lines, i)):
                seen.add(header)
        out.append(lines)
    return out
