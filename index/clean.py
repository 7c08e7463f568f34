"""Turn text extracted from a PDF/DOCX plan into clean Markdown that keeps the document's outline.

PDF extraction breaks lines mid-sentence, leaves page numbers and fragments, and may hand us
decomposed Unicode. The output keeps the outline as headings (`## I.`, `### 1.`), one paragraph
per item (`a)`, `-`), footnotes as notes, and appendix tables as one paragraph per row, so every
passage downstream knows its section path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.vietnamese import nfc

ROMAN = r"(?:I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)"
RE_ROMAN = re.compile(rf"^{ROMAN}\.\s+\S")
RE_ARABIC = re.compile(r"^\d{1,2}\.\s+\S")
RE_LETTER = re.compile(r"^[a-zđ]\)\s+\S")
RE_BULLET = re.compile(r"^[-+•–]\s*\S")
RE_PAGE_NUMBER = re.compile(r"^\d{1,3}$")
RE_FOOTNOTE = re.compile(r"^(\d{1,2}) ([A-ZĐÀ-Ỹ][^\s]*\s.{15,})$")
RE_TYPIST_CODE = re.compile(r"^[A-ZĐ]{2,6}\s+\d{2,6}$")  # e.g. "NBMT 1547" printed before signatures
DOC_TYPES = r"KẾ HOẠCH|CÔNG VĂN|QUYẾT ĐỊNH|BÁO CÁO|THÔNG BÁO|CHƯƠNG TRÌNH|HƯỚNG DẪN|TỜ TRÌNH"
RE_DOC_TYPE = re.compile(rf"^({DOC_TYPES})$")
RE_DOC_TYPE_AND_TITLE = re.compile(rf"^({DOC_TYPES})\s+(\S.*)$")  # 'KẾ HOẠCH TUYÊN TRUYỀN …' on one line
RE_BODY_START = re.compile(r"^(Căn cứ|Thực hiện|Kính gửi|Nhằm|Để|Trên cơ sở|Theo)\b")
RE_LEADING_BULLET = re.compile(r"^[-+•–]\s*")
RE_BASIS = re.compile(r"^(Căn cứ|Kính gửi)\b")
RE_CLAUSE_END = re.compile(r"[.;:]$")
TITLE_MAX = 200  # a title paragraph is never this long; a body paragraph (one DOCX line) often is
TITLE_LINE = 80  # a title line ending in '.', ';' or ':' and longer than this is the body's first sentence
RE_SENTENCE_END = re.compile(r"([.;:!?…]|\./\.|\.\)|;\)|\))$")
RE_APPENDIX = re.compile(r"^PHỤ LỤC\b")
RE_RECIPIENTS = re.compile(r"^Nơi nhận\s*:?")
RE_MOTTO = re.compile(r"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM|Độc lập\s*-\s*Tự do\s*-\s*Hạnh phúc")
# One-letter tokens that are real Vietnamese words; any other lone letter marks an extraction fragment.
ONE_LETTER_WORDS = set("àáạảãaăâeêiìíyýoòóôơuùúưởởỡờớợ")


@dataclass
class CleanedText:
    """A document split into the parts metadata extraction and chunking need."""

    header: list[str] = field(default_factory=list)  # agency, motto, "Số:", place and date
    doc_type: str | None = None  # "KẾ HOẠCH", ... as printed; None when absent (e.g. công văn)
    title_lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "(Kèm theo Quyết định số ...)"
    body: str = ""  # Markdown, outline kept
    signature: list[str] = field(default_factory=list)  # "Nơi nhận", signer's title and name
    appendix_notes: list[str] = field(default_factory=list)


def normalize(raw: str) -> str:
    text = nfc(raw)
    text = re.sub(r"\[bookmark:[^\]]*\]", "", text)
    text = text.replace("\u00a0", " ").replace("\t", " ").replace("\u200b", "").replace("\ufeff", "")
    text = re.sub(r"[ ]{2,}", "  ", text)  # keep a double space: it separates header columns
    return text


def _is_fragment(line: str) -> bool:
    """Short debris such as 'Vậy l à' left by a PDF text layer."""
    tokens = line.split()
    if len(line) > 20 or len(tokens) < 2:
        return False
    lone = [t for t in tokens if len(t) == 1 and t.isalpha()]
    return any(t.lower() not in ONE_LETTER_WORDS for t in lone)


def _is_marker(line: str) -> bool:
    return bool(RE_ROMAN.match(line) or RE_ARABIC.match(line) or RE_LETTER.match(line) or RE_BULLET.match(line))


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.8


def _starts_upper(line: str) -> bool:
    first = line.lstrip("“\"'(«")[:1]
    return first.isupper() or first.isdigit()


def _starts_with_abbreviation(line: str) -> bool:
    first = line.split()[0] if line.split() else ""
    letters = [c for c in first if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _heading_like(paragraph: str) -> bool:
    if RE_ROMAN.match(paragraph):
        return True
    if RE_ARABIC.match(paragraph):
        return len(paragraph) <= 150 and not re.search(r"[.;]$", paragraph.rstrip())
    return False


def _full_width(lines: list[str]) -> int:
    """Length from which a line is 'full': the PDF wrapped it, so the sentence goes on."""
    lengths = sorted(len(ln) for ln in lines) or [80]
    return int(0.85 * lengths[int(0.75 * (len(lengths) - 1))])


def join_lines(lines: list[str]) -> list[str]:
    """Rejoin lines broken by extraction into paragraphs, one per outline item."""
    paragraphs: list[str] = []
    full = _full_width(lines)
    last_line = ""
    for line in lines:
        previous_line, last_line = last_line, line
        if not paragraphs:
            paragraphs.append(line)
            continue
        prev = paragraphs[-1]
        if _is_marker(line) or RE_FOOTNOTE.match(line):
            paragraphs.append(line)
        elif re.search(r"\S-$", prev):
            paragraphs[-1] = prev + line  # "2021-" + "2030", "533/QĐ-" + "UBND"
        elif (
            _heading_like(prev)
            and _starts_upper(line)
            and not line[0].isdigit()
            and not (_is_upper(prev) and _is_upper(line))
            # "…và trình" + "UBND phường ban hành…" goes on; "…trên địa bàn phường" + "Căn cứ…" starts anew.
            and (len(previous_line) < full or not _starts_with_abbreviation(line))
        ):
            paragraphs.append(line)
        elif RE_SENTENCE_END.search(prev) and _starts_upper(line):
            paragraphs.append(line)
        else:
            paragraphs[-1] = f"{prev} {line}"
    return [re.sub(r"\s{2,}", " ", p).strip() for p in paragraphs]


def _footnotes(paragraphs: list[str]) -> list[str]:
    """Turn 'quy định1;' + '1 Thông tư ...' into an inline reference and a note paragraph."""
    text = "\n".join(paragraphs)
    out = []
    for p in paragraphs:
        m = RE_FOOTNOTE.match(p)
        marker = m and re.search(rf"[a-zà-ỹ]{m.group(1)}(?=[;,.\s])", text)
        if m and marker:
            out.append(f"(Chú thích {m.group(1)}: {m.group(2)})")
        else:
            out.append(p)
    notes = {m.group(1) for p in paragraphs if (m := RE_FOOTNOTE.match(p))}
    for n in notes:
        out = [re.sub(rf"(?<=[a-zà-ỹ]){n}(?=[;,.\s])", f" (chú thích {n})", p) if not p.startswith("(Chú thích") else p for p in out]
    return out


def _markdown(paragraphs: list[str]) -> str:
    blocks = []
    for p in paragraphs:
        if RE_ROMAN.match(p):
            blocks.append("## " + p.rstrip(":").strip())
        elif _heading_like(p):
            blocks.append("### " + p.rstrip(":").strip())
        else:
            blocks.append(p)
    return "\n\n".join(blocks)


RE_APPENDIX_LABEL = re.compile(r"^(PHỤ LỤC(?:\s+(?:SỐ\s+)?(?:[IVX]+|\d+))?)\b\s*[:.\-–]?\s*(.*)$")
RE_TASK_COLUMN = re.compile(r"nhiệm vụ|nội dung|hoạt động", re.IGNORECASE)


def _appendix_title(lines: list[str]) -> tuple[list[str], list[str]]:
    """Title lines and '(Kèm theo …)' notes, a note wrapped over several lines kept whole."""
    title, notes = [], []
    for line in lines:
        if line.startswith("(") or (notes and not notes[-1].endswith(")")):
            if notes and not notes[-1].endswith(")"):
                notes[-1] += " " + line
            else:
                notes.append(line)
        else:
            title.append(line)
    return title, notes


def _row_text(n: int, cells: list[str], columns: list[str], tasks: bool) -> str:
    """One table row as a sentence; cells paired with their column names when each cell is one line."""
    if len(columns) > 2 and len(cells) == len(columns) - 1:
        first = cells[0]
        rest = "; ".join(f"{c}: {v}" for c, v in zip(columns[2:], cells[1:]) if v)
        text = f"{first}; {rest}" if rest else first
    else:
        text = " ".join(join_lines(cells))
    return f"Nhiệm vụ {n}: {text}" if tasks else text


def _appendix(lines: list[str]) -> tuple[str, list[str]]:
    """Flattened table → heading + one paragraph per numbered row ('Nhiệm vụ 1: ...').

    Rows start at a line that is only their number (a cell per line, as Word and most PDFs give
    them) or, when the first row is printed on one line ('1 Sở Tư pháp 142 …'), at a line that
    starts with the next number.
    """
    i = 0
    while i < len(lines) and not lines[i].startswith("STT") and lines[i] != "1" and not lines[i].startswith("1 "):
        i += 1
    title, notes = _appendix_title(lines[:i])
    columns = []
    if i < len(lines) and lines[i].startswith("STT"):
        while i < len(lines) and lines[i] != "1" and not (columns and lines[i].startswith("1 ")):
            columns.append(lines[i])
            i += 1
    inline = i < len(lines) and lines[i].startswith("1 ")
    rows: list[list[str]] = []
    expected = 1
    for line in lines[i:]:
        if line == str(expected) or (inline and line.startswith(f"{expected} ")):
            rows.append([line[len(str(expected)):].strip()] if line != str(expected) else [])
            expected += 1
        elif rows:
            rows[-1].append(line)
        else:
            title.append(line)
    m = RE_APPENDIX_LABEL.match(re.sub(r"\s{2,}", " ", " ".join(title)).strip())
    heading = f"{m.group(1)}: {m.group(2)}" if m and m.group(2) else " ".join(title)
    parts = ["## " + re.sub(r"\s{2,}", " ", heading).strip()]
    parts += [re.sub(r"\s{2,}", " ", n).strip() for n in notes]
    if columns:
        header = re.sub(r"\s{2,}", " ", " ".join(columns))
        parts.append(f"Các cột của bảng: {header.strip()}.")
    tasks = not columns or bool(RE_TASK_COLUMN.search(" ".join(columns)[:40]))  # a plan's task table
    for n, row in enumerate(rows, start=1):
        parts.append(_row_text(n, row, columns, tasks))
    if not rows:
        parts += join_lines(lines[i:])
    return "\n\n".join(parts), notes


def _appendices(lines: list[str]) -> tuple[str, list[str]]:
    """Each 'PHỤ LỤC …' up to the next one is its own table."""
    starts = [i for i, ln in enumerate(lines) if RE_APPENDIX.match(ln)] or [0]
    parts, notes = [], []
    for a, b in zip(starts, starts[1:] + [len(lines)]):
        text, found = _appendix(lines[a:b])
        parts.append(text)
        notes += found
    return "\n\n".join(parts), notes


def _split_type_line(lines: list[str], within: int = 15) -> list[str]:
    """'KẾ HOẠCH TUYÊN TRUYỀN CẢI CÁCH …' printed as one caps line: the type, then the title's subject."""
    if any(RE_DOC_TYPE.match(ln.strip()) for ln in lines[:within]):
        return lines
    for i, line in enumerate(lines[:within]):
        m = RE_DOC_TYPE_AND_TITLE.match(line.strip())
        if m and _is_upper(line):
            return lines[:i] + [m.group(1), m.group(2)] + lines[i + 1:]
    return lines


def _body_start(lines: list[str]) -> int:
    """Index of the body's first line: the title block ends before it ("Căn cứ …", "I. …", a sentence).

    The line right after "KẾ HOẠCH" is the title's subject even when it starts like a sentence
    ("Triển khai thực hiện …"); after that, a bulleted "- Căn cứ", an outline marker or a long sentence
    ends the title, so a first paragraph that does not start with a known word is not swallowed.
    """
    type_at = next((i for i, ln in enumerate(lines[:40]) if RE_DOC_TYPE.match(ln.strip())), None)
    for i, line in enumerate(lines):
        unbulleted = RE_LEADING_BULLET.sub("", line)
        if RE_ROMAN.match(line) or RE_BODY_START.match(unbulleted):
            if type_at is not None and i == type_at + 1 and not RE_BASIS.match(unbulleted):
                continue
            return i
        if type_at is not None and i > type_at + 1 and (
            _is_marker(line) or len(line) > TITLE_MAX or (RE_CLAUSE_END.search(line) and len(line) > TITLE_LINE)
        ):
            return i
    return 0


def clean(raw: str) -> CleanedText:
    lines = [ln.strip() for ln in normalize(raw).splitlines()]
    lines = [ln for ln in lines if ln]
    appendix_at = next((i for i, ln in enumerate(lines) if RE_APPENDIX.match(ln)), len(lines))
    body_lines, appendix_lines = lines[:appendix_at], lines[appendix_at:]
    body_lines = [
        ln for ln in body_lines
        if not RE_PAGE_NUMBER.match(ln) and not _is_fragment(ln) and not RE_TYPIST_CODE.match(ln)
    ]

    out = CleanedText()
    body_lines = _split_type_line(body_lines)
    # Header and title: everything before the first sentence of the body.
    start = _body_start(body_lines)
    in_title = False
    for ln in body_lines[:start]:
        if RE_DOC_TYPE.match(ln.strip()):
            out.doc_type, in_title = ln.strip(), True
        elif ln.startswith("(") or (out.notes and not out.notes[-1].endswith(")")):
            if out.notes and not out.notes[-1].endswith(")"):
                out.notes[-1] += " " + ln
            else:
                out.notes.append(ln)
        elif in_title:
            out.title_lines.append(ln)
        else:
            out.header.append(ln)
    # A title printed before the header-less first line ("KẾ HOẠCH" on line 1).
    rest = body_lines[start:]
    signature_at = next((i for i, ln in enumerate(rest) if RE_RECIPIENTS.match(ln)), len(rest))
    out.signature = rest[signature_at:]
    paragraphs = _footnotes(join_lines(rest[:signature_at]))
    body = _markdown(paragraphs)
    if appendix_lines:
        appendix, out.appendix_notes = _appendices(appendix_lines)
        body += "\n\n" + appendix
    out.body = body
    return out
