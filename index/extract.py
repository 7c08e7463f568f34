"""Text out of the files wards actually send: PDF with a text layer, DOCX, old DOC, TXT/MD.

Each format is read with a maintained library (pypdf, python-docx; antiword or LibreOffice for
.doc when installed), and every failure says in Vietnamese what is wrong and what the officer
should do: a scan needs OCR, a password must be removed, a broken file must be saved again.
Text typed in the legacy Vietnamese encodings TCVN3 (ABC, `.VnTime` fonts) and VNI is
recognised and converted to Unicode (conversion tables from the `viparse` package), because
older offices still circulate such files and mojibake would be indexed silently otherwise.

The output imitates what the seeds look like (one line per printed line or Word paragraph,
numbering labels written out, tables one cell per line), so `index.clean` treats it the same.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index.documents import KnowledgeError
from index.pdf_layout import drop_repeated_table_headers, drop_running_lines

SUPPORTED = "PDF (có lớp chữ), DOCX, DOC, TXT hoặc MD"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
MIN_PAGE_LETTERS = 25  # fewer letters than this on a page: treated as having no text layer
CONVERT_TIMEOUT = 120  # seconds for antiword / LibreOffice
FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

# Characters only Unicode Vietnamese has (never produced by a legacy 8-bit font): ă ơ ư đ and
# the precomposed letters with tone marks (U+1EA0–U+1EF9).
RE_UNICODE_VIETNAMESE = re.compile(r"[\u0102\u0103\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]")
LEGACY_NAMES = {"tcvn3": "TCVN3 (ABC, phông .VnTime)", "vni": "VNI (phông VNI-Times)",
                "viscii": "VISCII", "vps": "VPS"}


class ExtractionError(KnowledgeError):
    """The file cannot be read; the message names the file, the problem and what to do."""


@dataclass
class Extraction:
    """Plain text of a file plus what the officer should know about how it was read."""

    text: str
    kind: str  # pdf | docx | doc | txt | md
    pages: int | None = None
    encoding: str | None = None  # legacy encoding converted from ("tcvn3", "vni"), None when Unicode
    notes: list[str] = field(default_factory=list)  # what was read and what could not be, in Vietnamese


def _fail(path: Path, message: str) -> ExtractionError:
    return ExtractionError(f"{path.name}: {message}")


# ----------------------------------------------------------------------------- legacy encodings
def legacy_font_encoding(font: str | None) -> str | None:
    """'.VnTime', 'ABCDEF+.VnTimeH' -> 'tcvn3'; 'VNI-Times' -> 'vni'; Unicode fonts -> None."""
    if not font:
        return None
    name = re.sub(r"^[A-Z]{6}\+", "", font.strip().lstrip("/"))
    if name.startswith(".Vn") or name.lower().startswith("vn") and name[2:3].isupper() and "vni" not in name.lower():
        return "tcvn3"
    if name.upper().startswith("VNI"):
        return "vni"
    return None


def _convert_line(line: str, encoding: str) -> str:
    import viparse

    converted = viparse.fix(line, encoding=encoding)
    ascii_letters = [c for c in line if c.isascii() and c.isalpha()]
    if encoding == "tcvn3" and len(ascii_letters) >= 2 and all(c.isupper() for c in ascii_letters):
        # TCVN3 has no upper-case toned letters: headings set in a `.VnTimeH` font come back mixed-case.
        converted = converted.upper()
    return converted


def convert_legacy(text: str, encoding: str) -> str:
    """Convert each line that is not already Unicode Vietnamese (documents are often mixed)."""
    return "\n".join(
        line if not line.strip() or RE_UNICODE_VIETNAMESE.search(line) else _convert_line(line, encoding)
        for line in text.split("\n")
    )


def detect_legacy(text: str, hint: str | None = None) -> str | None:
    """Which legacy encoding the text is typed in, or None for Unicode (or not Vietnamese)."""
    import viparse

    legacy_lines = "\n".join(ln for ln in text.split("\n") if not RE_UNICODE_VIETNAMESE.search(ln))
    if len(re.findall(r"[\u00a0-\u00ff]", legacy_lines)) < 3:
        return None
    letters = sum(c.isalpha() for c in text)
    if not hint and sum(c.isalpha() for c in legacy_lines) < 0.3 * letters:
        return None  # a Unicode document whose few plain lines happen to carry Latin-1 accents
    found = viparse.detect_text_encoding(legacy_lines[:20000])
    if found:
        return found
    if hint:  # a legacy font name plus a plausible conversion is enough
        sample = convert_legacy(legacy_lines[:5000], hint)
        if len(RE_UNICODE_VIETNAMESE.findall(sample)) >= 0.03 * max(1, sum(c.isalpha() for c in sample)):
            return hint
    return None


def _fix_legacy(path: Path, extraction: Extraction, hint: str | None = None) -> Extraction:
    encoding = detect_legacy(extraction.text, hint)
    if encoding:
        extraction.text = convert_legacy(extraction.text, encoding)
        extraction.encoding = encoding
        extraction.notes.append(
            f"Văn bản gõ bằng bảng mã cũ {LEGACY_NAMES.get(encoding, encoding)}: đã chuyển sang Unicode — "
            "hãy đọc lại phần đầu tệp và vài đoạn để chắc chữ đúng dấu."
        )
    return extraction


# ------------------------------------------------------------------------------------------ PDF
def _page_fonts(page) -> set[str]:
    try:
        fonts = page["/Resources"]["/Font"]
        return {str(f.get_object().get("/BaseFont", "")) for f in fonts.values()}
    except Exception:  # missing or malformed resources: no hint
        return set()


def _page_has_image(page) -> bool:
    try:
        return len(page.images) > 0
    except Exception:  # unsupported image filters still mean "there is an image"
        return True


def _strip_page_furniture(lines: list[str], number: int) -> list[str]:
    """Drop this page's printed number at its top or bottom ('3', '- 3 -', 'Trang 3/12').

    Only the page's own number: a table row number that starts a page must stay.
    """
    pattern = re.compile(rf"^(?:[-–]?\s*{number}\s*[-–]?|Trang\s+{number}(?:\s*/\s*\d{{1,3}})?)$", re.IGNORECASE)
    body = [ln for ln in lines if ln.strip()]
    if body and pattern.match(body[0].strip()):
        body.pop(0)
    if body and pattern.match(body[-1].strip()):
        body.pop()
    return body


def _unjustify(line: str) -> str:
    """Justified lines come out with wide gaps between all words; one wide gap is a column break."""
    wide = len(re.findall(r"\S {2,}(?=\S)", line))
    narrow = len(re.findall(r"\S (?=\S)", line))
    return re.sub(r" {2,}", " ", line) if wide >= 3 and wide > narrow else line


def extract_pdf(path: Path) -> Extraction:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # repairs of sloppy files are not the officer's concern
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # owner-password-only files open with an empty user password
            except Exception:
                opened = 0
            if not opened:
                raise _fail(path, "tệp PDF có mật khẩu. Hãy gỡ mật khẩu (hoặc xin bản không khoá) rồi thêm lại.")
        pages = list(reader.pages)
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise _fail(path, f"tệp PDF bị hỏng hoặc không đọc được ({type(exc).__name__}). Hãy mở bằng trình xem PDF "
                          "và lưu/xuất lại, hoặc gửi bản DOCX/TXT.") from exc
    if not pages:
        raise _fail(path, "tệp PDF không có trang nào.")
    texts: list[list[str]] = []
    no_text: list[int] = []
    fonts: set[str] = set()
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:  # one damaged page should not lose the others
            text = ""
        if sum(c.isalpha() for c in text) < MIN_PAGE_LETTERS:
            no_text.append(number)
        fonts |= _page_fonts(page)
        texts.append(_strip_page_furniture([_unjustify(ln.rstrip()) for ln in text.splitlines()], number))
    if len(no_text) == len(pages):
        scanned = any(_page_has_image(p) for p in pages)
        reason = "là bản quét/ảnh chụp" if scanned else "không có chữ đọc được"
        raise _fail(path, f"tệp PDF {reason}: không có lớp chữ. Cần nhận dạng chữ (OCR) trước, ví dụ bằng "
                          "ocrmypdf với gói tiếng Việt (ocrmypdf -l vie vao.pdf ra.pdf), hoặc gửi bản DOCX/PDF "
                          "xuất trực tiếp từ Word, rồi thêm lại.")
    lines = [ln for page in drop_repeated_table_headers(drop_running_lines(texts)) for ln in page]
    extraction = Extraction("\n".join(lines), "pdf", pages=len(pages))
    extraction.notes.append(f"Đọc lớp chữ PDF: {len(pages)} trang.")
    if no_text:
        listed = ", ".join(map(str, no_text[:10])) + ("…" if len(no_text) > 10 else "")
        extraction.notes.append(f"Trang {listed} không có lớp chữ (ảnh quét?) nên không đọc được — cần OCR nếu "
                                "các trang đó có nội dung.")
    hint = next((e for f in fonts if (e := legacy_font_encoding(f))), None)
    return _fix_legacy(path, extraction, hint)


# ----------------------------------------------------------------------------------------- DOCX
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


# ------------------------------------------------------------------------------- DOC, RTF, ODT
def _convert_with_libreoffice(path: Path) -> Extraction | None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if not office:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run([office, "--headless", "--convert-to", "docx", "--outdir", tmp, str(path)],
                           capture_output=True, timeout=CONVERT_TIMEOUT, check=False,
                           env={"HOME": tmp, "PATH": "/usr/bin:/bin:/usr/local/bin"})
        except (OSError, subprocess.TimeoutExpired):
            return None
        converted = Path(tmp) / (path.stem + ".docx")
        if not converted.exists():
            return None
        extraction = extract_docx(converted)
    extraction.kind = path.suffix.lower().lstrip(".") or "doc"
    extraction.notes.insert(0, f"Đã chuyển {path.name} sang DOCX bằng LibreOffice.")
    return extraction


def _convert_with_antiword(path: Path) -> Extraction | None:
    antiword = shutil.which("antiword")
    if not antiword:
        return None
    try:
        done = subprocess.run([antiword, "-m", "UTF-8.txt", "-w", "0", str(path)], capture_output=True,
                              timeout=CONVERT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    text = done.stdout.decode("utf-8", errors="replace")
    # antiword draws table rows as "|cell|cell|": one cell per line, as the PDF seeds have them.
    lines = []
    for line in text.splitlines():
        if line.strip().startswith("|"):
            lines.extend(c.strip() for c in line.strip().strip("|").split("|") if c.strip())
        else:
            lines.append(line)
    extraction = Extraction("\n".join(lines), "doc", notes=[f"Đã đọc {path.name} (Word cũ) bằng antiword."])
    return _fix_legacy(path, extraction)


def extract_legacy_office(path: Path, kind: str) -> Extraction:
    result = _convert_with_libreoffice(path)
    if result is None and kind == "doc":
        result = _convert_with_antiword(path)
    if result is None:
        names = {"doc": "Word cũ (.doc)", "rtf": "RTF", "odt": "OpenDocument (.odt)"}
        raise _fail(path, f"định dạng {names.get(kind, kind)} cần LibreOffice"
                          f"{' hoặc antiword' if kind == 'doc' else ''} để chuyển đổi, mà máy này chưa cài "
                          "(apt-get install libreoffice-writer-nogui"
                          f"{' hoặc antiword' if kind == 'doc' else ''}). Hoặc mở bằng Word, chọn "
                          "Lưu thành DOCX, rồi thêm lại tệp DOCX.")
    return result


# ----------------------------------------------------------------------------------- TXT / MD
def extract_text_file(path: Path, data: bytes) -> Extraction:
    kind = "md" if path.suffix.lower() == ".md" else "txt"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _fix_legacy(path, Extraction(data.decode("utf-16"), kind, notes=["Đọc tệp văn bản UTF-16."]))
    try:
        return _fix_legacy(path, Extraction(data.decode("utf-8-sig"), kind))
    except UnicodeDecodeError:
        pass
    try:
        surface = data.decode("cp1252")
    except UnicodeDecodeError:
        surface = data.decode("latin-1")
    encoding = detect_legacy(surface)
    if encoding in ("tcvn3", "vni"):
        extraction = Extraction(surface, kind)
        return _fix_legacy(path, extraction, encoding)
    raise _fail(path, "không phải UTF-8 và không nhận ra bảng mã tiếng Việt cũ (TCVN3/VNI) — có thể là mã "
                      "Windows-1258 hay một mã khác. Hãy mở tệp, lưu lại dạng Unicode (UTF-8) rồi thêm lại; với "
                      "văn bản gõ bằng phông .VnTime/VNI có thể chuyển mã bằng Unikey (Công cụ chuyển mã).")


# ------------------------------------------------------------------------------------ dispatch
def _sniff(data: bytes) -> str | None:
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.lstrip().startswith(b"{\\rtf"):
        return "rtf"
    return None


def extract(path: Path) -> Extraction:
    """Text of a PDF/DOCX/DOC/TXT/MD file, legacy encodings converted; raises ExtractionError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise _fail(path, "là một thư mục, không phải tệp.") from exc
    except FileNotFoundError as exc:
        raise _fail(path, "không tìm thấy tệp.") from exc
    if not data.strip():
        raise _fail(path, "tệp rỗng, không có gì để thêm.")
    suffix = path.suffix.lower()
    kind = _sniff(data)
    handlers: dict[str, Callable[[], Extraction]] = {
        "pdf": lambda: extract_pdf(path),
        "rtf": lambda: extract_legacy_office(path, "rtf"),
    }
    if kind in handlers:
        extraction = handlers[kind]()
    elif kind == "zip":
        if b"opendocument.text" in data[:200]:
            extraction = extract_legacy_office(path, "odt")
        else:
            extraction = extract_docx(path)
    elif kind == "ole":
        if "EncryptionInfo".encode("utf-16-le") in data or b"EncryptedPackage" in data:
            raise _fail(path, "tệp Word có mật khẩu. Hãy mở bằng Word, gỡ mật khẩu (Tệp > Thông tin > Bảo vệ "
                              "tài liệu), lưu lại rồi thêm lại.")
        extraction = extract_legacy_office(path, "doc")
    elif suffix in (".pdf", ".docx", ".doc"):
        raise _fail(path, f"tệp {suffix.upper().lstrip('.')} bị hỏng hoặc không đúng định dạng (nội dung không "
                          f"phải {suffix.upper().lstrip('.')}). Hãy lưu/xuất lại từ chương trình gốc, hoặc gửi "
                          "bản TXT.")
    elif suffix in IMAGE_SUFFIXES:
        raise _fail(path, "là ảnh chụp/quét, không có chữ để đọc. Cần nhận dạng chữ (OCR) trước, rồi thêm tệp "
                          f"kết quả ({SUPPORTED}).")
    elif suffix in (".txt", ".md", ".text", ""):
        extraction = extract_text_file(path, data)
    else:
        raise _fail(path, f"định dạng {suffix} chưa được hỗ trợ; hãy dùng {SUPPORTED}.")
    extraction.text = unicodedata.normalize("NFC", extraction.text)
    if sum(c.isalpha() for c in extraction.text) < 20:
        raise _fail(path, "không có nội dung chữ (tệp rỗng hoặc chỉ có hình/bảng trống).")
    return extraction
