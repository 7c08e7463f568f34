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
        from index.extract_docx import extract_docx

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
            from index.extract_docx import extract_docx

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
