"""Hostile files written on the spot (never stored in the repo): zip-bomb DOCX, deep or huge PDF page trees.

Used by the sandbox, inbox and console tests and by scripts/chaos.py. Each file is small on disk and
costly only for a reader without limits.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

PARAGRAPH = "<w:p><w:r><w:t>Phường Sơn Trà tổ chức tập huấn dịch vụ công trực tuyến</w:t></w:r></w:p>"


def _base_docx_parts() -> dict[str, bytes]:
    import docx

    document = docx.Document()
    document.add_paragraph("KẾ HOẠCH")
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_bomb_docx(path: Path, xml_mb: int = 50, lie_about_size: bool = False) -> Path:
    """A valid DOCX whose word/document.xml inflates to `xml_mb` MB (a few hundred KB on disk).

    `lie_about_size`: the zip's central directory declares 1 KB for that member instead.
    """
    parts = _base_docx_parts()
    head, tail = parts["word/document.xml"].decode("utf-8").split("<w:body>", 1)
    unit = PARAGRAPH.encode("utf-8")
    count = xml_mb * 1024 * 1024 // len(unit)
    parts["word/document.xml"] = (head + "<w:body>").encode() + unit * count + tail.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
        if lie_about_size:
            for info in archive.filelist:
                if info.filename == "word/document.xml":
                    info.file_size = 1024  # written into the central directory at close
    return path


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


_TEXT = b"BT /F1 12 Tf 72 720 Td (Ke hoach cai cach hanh chinh nam 2026 cua phuong Hoa Khanh) Tj ET"
_COMMON = [b"<< /Type /Catalog /Pages 4 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
           b"<< /Length %d >>\nstream\n" % len(_TEXT) + _TEXT + b"\nendstream"]
_PAGE = b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << /F1 2 0 R >> >> >>"


def deep_pdf(path: Path, depth: int = 150) -> Path:
    """One page under a chain of `depth` nested /Pages nodes (pypdf gives up past 100)."""
    objects = list(_COMMON)
    for level in range(depth):  # objects 4 .. 3 + depth
        number = 4 + level
        parent = b"" if level == 0 else b" /Parent %d 0 R" % (number - 1)
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (number + 1, parent))
    objects.append(_PAGE % (3 + depth))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_pdf(objects))
    return path


def many_pages_pdf(path: Path, pages: int = 5000, declared: int | None = None) -> Path:
    """A flat page tree of `pages` pages sharing one content stream; `declared` may lie about /Count."""
    objects = list(_COMMON)
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages if declared is None else declared))
    objects.extend(_PAGE % 4 for _ in range(pages))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_pdf(objects))
    return path
