"""DOCX: paragraphs with Word's automatic numbering written out, tables as one row per paragraph (with the
header row's column names), footnotes, text boxes, and runs typed in legacy Vietnamese fonts converted.

Split from `index.extract` (one module per format); `index.extract.extract` dispatches here.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from index.extract import Extraction, FALLBACK, LEGACY_NAMES, _convert_line, _fail, _fix_legacy, legacy_font_encoding


def _w(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(f"w:{tag}")


def _roman(n: int) -> str:
    values = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
              (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for value, letters in values:
        while n >= value:
            out, n = out + letters, n - value
    return out


def _letter(n: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return alphabet[(n - 1) % 26] * ((n - 1) // 26 + 1)


def _format_number(n: int, fmt: str) -> str:
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "upperLetter":
        return _letter(n).upper()
    if fmt == "lowerLetter":
        return _letter(n)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "none":
        return ""
    return str(n)


class _Numbering:
    """Word's automatic list labels ('I.', '1.', 'a)'), which python-docx's `.text` leaves out.

    Counters belong to the abstract list, as in Word: two list instances of one abstract list
    continue each other's numbering unless an instance restarts it (startOverride).
    """

    def __init__(self, document) -> None:
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}  # (numId, ilvl) -> (fmt, text, start)
        self.abstract_of: dict[str, str] = {}
        self.restarts: dict[str, set[int]] = {}  # numId -> levels it restarts on first use
        self.counters: dict[str, dict[int, int]] = {}  # abstractNumId -> ilvl -> current value
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for a in root.findall(_w("abstractNum")):
            levels = {}
            for lvl in a.findall(_w("lvl")):
                fmt = lvl.find(_w("numFmt"))
                text = lvl.find(_w("lvlText"))
                start = lvl.find(_w("start"))
                levels[int(lvl.get(_w("ilvl"), "0"))] = (
                    fmt.get(_w("val"), "decimal") if fmt is not None else "decimal",
                    text.get(_w("val"), "") if text is not None else "",
                    int(start.get(_w("val"), "1")) if start is not None else 1,
                )
            abstract[a.get(_w("abstractNumId"))] = levels
        for num in root.findall(_w("num")):
            num_id = num.get(_w("numId"))
            ref = num.find(_w("abstractNumId"))
            abstract_id = ref.get(_w("val")) if ref is not None else ""
            self.abstract_of[num_id] = abstract_id
            levels = dict(abstract.get(abstract_id, {}))
            for override in num.findall(_w("lvlOverride")):
                start = override.find(_w("startOverride"))
                ilvl = int(override.get(_w("ilvl"), "0"))
                if start is not None and ilvl in levels:
                    fmt, text, _ = levels[ilvl]
                    levels[ilvl] = (fmt, text, int(start.get(_w("val"), "1")))
                    self.restarts.setdefault(num_id, set()).add(ilvl)
            for ilvl, level in levels.items():
                self.levels[(num_id, ilvl)] = level

    def label(self, num_id: str, ilvl: int) -> str:
        level = self.levels.get((num_id, ilvl))
        if level is None or num_id == "0":
            return ""
        counters = self.counters.setdefault(self.abstract_of.get(num_id, num_id), {})
        if ilvl in self.restarts.get(num_id, set()):
            self.restarts[num_id].discard(ilvl)
            counters.pop(ilvl, None)
        counters[ilvl] = counters.get(ilvl, level[2] - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        fmt, text, _ = level
        if fmt == "bullet":
            return "-"

        def value(m: re.Match) -> str:
            i = int(m.group(1)) - 1
            lvl = self.levels.get((num_id, i))
            n = counters.get(i, lvl[2] if lvl else 1)
            return _format_number(n, lvl[0] if lvl else "decimal")

        return re.sub(r"%(\d)", value, text).strip()


def _is_header_row(tbl) -> bool:
    """Is the table's first row a header: marked to repeat on each page, or every cell set in bold?"""
    tr = tbl.find(_w("tr"))
    if tr is None:
        return False
    trpr = tr.find(_w("trPr"))
    if trpr is not None and trpr.find(_w("tblHeader")) is not None:
        return True
    cells = [tc for tc in tr.findall(_w("tc")) if "".join(t.text or "" for t in tc.iter(_w("t"))).strip()]

    def bold(run) -> bool:
        b = run.find(f"{_w('rPr')}/{_w('b')}")
        return b is not None and b.get(_w("val"), "true") not in ("0", "false")

    return bool(cells) and all(any(bold(r) for r in tc.iter(_w("r")) if (r.findtext(_w("t")) or "").strip())
                               for tc in cells)


def _row_sentence(cells: list[str], header: list[str] | None) -> str:
    """A table row as one line that `clean` keeps as its own paragraph; cells named by their column."""
    if header and len(header) == len(cells) and len(cells) > 1:
        named = "; ".join(f"{h}: {v}" for h, v in zip(header[1:], cells[1:]) if v and h)
        text = f"{cells[0]} — {named}" if named else cells[0]
    else:
        text = " | ".join(c for c in cells if c)
    return text if re.search(r"[.;:!?]$", text) else text + "."


class _DocxReader:
    """Walks the body in reading order: paragraphs, tables (row by row), text boxes, footnotes."""

    def __init__(self, document) -> None:
        self.document = document
        self.numbering = _Numbering(document)
        self.notes = self._notes()
        self.note_numbers: dict[tuple[str, str], int] = {}
        self.style_fonts: dict[str, str | None] = {}
        self.style_numbering: dict[str, tuple[str, int] | None] = {}
        self.default_font = self._default_font()
        self.legacy_runs: dict[str, int] = {}
        self.lines: list[str] = []
        self.previous_table_header: list[str] | None = None

    # -- document parts ------------------------------------------------------------------
    def _notes(self) -> dict[tuple[str, str], str]:
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from lxml import etree

        notes: dict[tuple[str, str], str] = {}
        for rel in self.document.part.rels.values():
            kind = {RT.FOOTNOTES: "footnote", RT.ENDNOTES: "endnote"}.get(rel.reltype)
            if not kind or rel.is_external:
                continue
            try:
                root = etree.fromstring(rel.target_part.blob)
            except Exception:  # an unreadable notes part loses the notes, not the document
                continue
            for note in root.findall(_w(kind)):
                if note.get(_w("type")) in ("separator", "continuationSeparator", "continuationNotice"):
                    continue
                text = " ".join("".join(t.text or "" for t in p.iter(_w("t"))).strip() for p in note.iter(_w("p")))
                notes[(kind, note.get(_w("id")))] = re.sub(r"\s+", " ", text).strip()
        return notes

    def _default_font(self) -> str | None:
        try:
            styles = self.document.styles.element
        except Exception:
            return None
        fonts = styles.find(f"{_w('docDefaults')}/{_w('rPrDefault')}/{_w('rPr')}/{_w('rFonts')}")
        return fonts.get(_w("ascii")) or fonts.get(_w("hAnsi")) if fonts is not None else None

    def _style(self, style_id: str | None):
        if not style_id:
            return None
        try:
            for style in self.document.styles.element.findall(_w("style")):
                if style.get(_w("styleId")) == style_id:
                    return style
        except Exception:
            return None
        return None

    def _inherited(self, style_id: str | None, cache: dict, read):
        """The first value `read(style)` finds along a style's basedOn chain (Word style inheritance)."""
        if style_id in cache:
            return cache[style_id]
        found, seen, current = None, set(), style_id
        while current and current not in seen and found is None:
            seen.add(current)
            style = self._style(current)
            if style is None:
                break
            found = read(style)
            based = style.find(_w("basedOn"))
            current = based.get(_w("val")) if based is not None else None
        cache[style_id] = found
        return found

    def _style_font(self, style_id: str | None) -> str | None:
        def read(style):
            fonts = style.find(f"{_w('rPr')}/{_w('rFonts')}")
            return (fonts.get(_w("ascii")) or fonts.get(_w("hAnsi"))) if fonts is not None else None

        return self._inherited(style_id, self.style_fonts, read)

    def _style_num(self, style_id: str | None) -> tuple[str, int] | None:
        def read(style):
            num = style.find(f"{_w('pPr')}/{_w('numPr')}")
            if num is None or num.find(_w("numId")) is None:
                return None
            ilvl = num.find(_w("ilvl"))
            return num.find(_w("numId")).get(_w("val")), int(ilvl.get(_w("val"), "0")) if ilvl is not None else 0

        return self._inherited(style_id, self.style_numbering, read)

    # -- paragraphs ----------------------------------------------------------------------
    def _run_text(self, run, paragraph_font: str | None, boxes: list) -> str:
        rpr = run.find(_w("rPr"))
        if rpr is not None and rpr.find(_w("vanish")) is not None:
            return ""  # hidden text
        font = None
        if rpr is not None:
            fonts = rpr.find(_w("rFonts"))
            if fonts is not None:
                font = fonts.get(_w("ascii")) or fonts.get(_w("hAnsi"))
            style = rpr.find(_w("rStyle"))
            if font is None and style is not None:
                font = self._style_font(style.get(_w("val")))
        font = font or paragraph_font or self.default_font
        parts: list[str] = []
        for child in run:
            tag = child.tag
            if tag == _w("t"):
                parts.append(child.text or "")
            elif tag == _w("tab"):
                parts.append(" ")
            elif tag in (_w("br"), _w("cr")):
                parts.append(" " if child.get(_w("type")) == "page" else "\n")
            elif tag == _w("noBreakHyphen"):
                parts.append("-")
            elif tag in (_w("footnoteReference"), _w("endnoteReference")):
                kind = "footnote" if tag == _w("footnoteReference") else "endnote"
                key = (kind, child.get(_w("id")))
                if key in self.notes:
                    number = self.note_numbers.setdefault(key, len(self.note_numbers) + 1)
                    parts.append(f" (chú thích {number})")
            else:
                # Text boxes (drawings, VML shapes): read their paragraphs once, never their position numbers.
                for box in child.iter(_w("txbxContent")):
                    ancestors = {a.tag for a in box.iterancestors()}
                    if FALLBACK not in ancestors and _w("txbxContent") not in ancestors:
                        boxes.append(box)  # mc:Fallback repeats the same box as VML: read it once
        text = "".join(parts)
        encoding = legacy_font_encoding(font)
        if encoding and re.search(r"[\u00a0-\u00ff]", text):
            self.legacy_runs[encoding] = self.legacy_runs.get(encoding, 0) + 1
            # The font says how to read these characters, even next to Unicode runs.
            converted = "\n".join(_convert_line(line, encoding) for line in text.split("\n"))
            text = converted.upper() if font and font.rstrip().endswith("H") else converted
        return text

    def _paragraph(self, p) -> list[str]:
        ppr = p.find(_w("pPr"))
        style_id = None
        numbering = None
        if ppr is not None:
            style = ppr.find(_w("pStyle"))
            style_id = style.get(_w("val")) if style is not None else None
            num = ppr.find(_w("numPr"))
            if num is not None and num.find(_w("numId")) is not None:
                ilvl = num.find(_w("ilvl"))
                numbering = (num.find(_w("numId")).get(_w("val")), int(ilvl.get(_w("val"), "0")) if ilvl is not None else 0)
        numbering = numbering or self._style_num(style_id)
        paragraph_font = self._style_font(style_id)
        boxes: list = []
        pieces: list[str] = []
        for run in self._runs(p):
            pieces.append(self._run_text(run, paragraph_font, boxes))
        text = "".join(pieces)
        keys = [k for k in self.note_numbers if f"(chú thích {self.note_numbers[k]})" in text]
        lines = [ln.strip() for ln in text.split("\n")]
        if numbering and any(lines):
            label = self.numbering.label(*numbering)
            if label:
                first = next(i for i, ln in enumerate(lines) if ln)
                lines[first] = f"{label} {lines[first]}"
        out = [re.sub(r"\s{2,}", " ", ln) for ln in lines if ln]
        for box in boxes:
            for inner in box.findall(_w("p")):
                out.extend(self._paragraph(inner))
        for key in keys:
            out.append(f"(Chú thích {self.note_numbers[key]}: {self.notes[key]})")
        return out

    def _runs(self, p):
        """Runs in order, inside hyperlinks, fields, insertions and content controls; not deleted text."""
        skip = {_w("del"), _w("moveFrom"), _w("pPr")}
        stack = list(reversed(list(p)))
        while stack:
            node = stack.pop()
            if node.tag in skip or node.tag == FALLBACK:
                continue
            if node.tag == _w("r"):
                yield node
            elif node.tag != _w("txbxContent"):
                stack.extend(reversed(list(node)))

    # -- tables --------------------------------------------------------------------------
    def _cell_lines(self, tc) -> list[str]:
        lines: list[str] = []
        self._blocks(tc, lines)
        return lines

    def _table(self, tbl) -> list[str]:
        rows = []
        for tr in tbl.findall(_w("tr")):
            cells = []
            for tc in tr.findall(_w("tc")):
                tcpr = tc.find(_w("tcPr"))
                vmerge = tcpr.find(_w("vMerge")) if tcpr is not None else None
                if vmerge is not None and vmerge.get(_w("val"), "continue") == "continue":
                    continue  # the merged cell's text was read in the row where the merge starts
                cells.append(self._cell_lines(tc))
            rows.append(cells)
        rows = [r for r in rows if any(any(c) for c in r)]
        if not rows:
            return []
        first = [" ".join(c) for c in rows[0]]
        numbered = bool(first) and re.match(r"^(STT|TT|Số TT)\b", first[0].strip(), re.IGNORECASE)
        if numbered and first == self.previous_table_header:
            rows = rows[1:]  # the same table continued after a page break: its header again
        if numbered:
            self.previous_table_header = first
        out: list[str] = []
        layout = not numbered and len(rows) <= 3 and max(len(r) for r in rows) <= 3
        if layout and len(self.lines) < 5:
            # The letterhead: agency | motto side by side, as a PDF prints it (metadata reads it so).
            for row in rows:
                for i in range(max(len(c) for c in row)):
                    out.append("   ".join(c[i] for c in row if i < len(c) and c[i]))
            return out
        header = [" ".join(c) for c in rows[0]] if not numbered and not layout and _is_header_row(tbl) else None
        for i, row in enumerate(rows):
            if numbered or layout:
                # Cell by cell, as a PDF prints them: what `clean` expects for appendix tables and headers.
                for cell in row:
                    out.extend(cell)
            elif header and i == 0:
                out.append(f"Các cột của bảng: {' | '.join(h for h in header if h)}.")
            else:
                out.append(_row_sentence([" ".join(c) for c in row], header))
        return out

    def _blocks(self, container, out: list[str]) -> None:
        for child in container:
            if child.tag == _w("p"):
                out.extend(self._paragraph(child))
            elif child.tag == _w("tbl"):
                out.extend(self._table(child))
            elif child.tag == _w("sdt"):
                content = child.find(_w("sdtContent"))
                if content is not None:
                    self._blocks(content, out)

    def read(self) -> str:
        self._blocks(self.document.element.body, self.lines)
        return "\n".join(self.lines)


def extract_docx(path: Path) -> Extraction:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(path, "tệp DOCX bị hỏng (không mở được). Hãy mở bằng Word và lưu lại dạng DOCX.") from exc
    if "word/document.xml" not in names:
        raise _fail(path, "không phải tệp Word DOCX (thiếu word/document.xml). Hãy lưu lại dạng DOCX từ Word.")
    try:
        document = docx.Document(str(path))
        reader = _DocxReader(document)
        text = reader.read()
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise _fail(path, f"tệp DOCX bị hỏng ({type(exc).__name__}). Hãy mở bằng Word và lưu lại.") from exc
    except Exception as exc:  # lxml XMLSyntaxError and friends: a damaged part
        raise _fail(path, f"tệp DOCX có phần bị hỏng ({type(exc).__name__}). Hãy mở bằng Word và lưu lại.") from exc
    extraction = Extraction(text, "docx")
    paragraphs = len(reader.lines)
    tables = len(document.element.body.findall(_w("tbl")))
    extraction.notes.append(f"Đọc DOCX: {paragraphs} dòng, {tables} bảng, {len(reader.note_numbers)} chú thích.")
    if reader.legacy_runs:
        encoding = max(reader.legacy_runs, key=reader.legacy_runs.get)
        extraction.encoding = encoding
        extraction.notes.append(
            f"Có chữ gõ bằng phông mã cũ {LEGACY_NAMES.get(encoding, encoding)}: đã chuyển sang Unicode — hãy "
            "đọc lại vài đoạn để chắc chữ đúng dấu."
        )
    return _fix_legacy(path, extraction)
