"""A document's metadata as officers edit it in the browser: the form's fields, their checks, the saved front matter.

Every value is checked before anything is written (a real date, a document number as offices write it, a
ward from the ward list, a document this one replaces that exists), and the file keeps every other key and
its body: only the fields on the form change. The knowledge page then shows the document as "đã sửa" until the
change passes the validated publish.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path

from index.chunk import PROCEDURE_TYPE, PROFILE_TYPE, display_date
from index.documents import DISABLED_FIELD, update_front_matter
from index.types import Document
from index.vietnamese import fold

# key -> (label, one line of help shown under the field)
FIELDS: dict[str, tuple[str, str]] = {
    "title": ("Tiêu đề", "Tên đầy đủ của văn bản, như in trên văn bản."),
    "type": ("Loại văn bản", ""),
    "number": ("Số văn bản", "Ví dụ 15/KH-UBND. Để trống nếu văn bản chưa có số."),
    "date": ("Ngày ký", "Ngày/tháng/năm, ví dụ 03/02/2026; chỉ biết tháng thì 02/2026; chỉ biết năm thì 2026."),
    "scope": ("Phạm vi", "Văn bản của xã/phường, của tỉnh/thành phố hay áp dụng toàn quốc."),
    "ward": ("Xã/phường", "Chọn trong danh sách xã/phường đã có hồ sơ hoặc văn bản."),
    "city": ("Tỉnh/thành phố", "Ví dụ Đà Nẵng."),
    "year": ("Năm", "Năm của kế hoạch; để trống thì lấy theo ngày ký."),
    "period": ("Thời kỳ", "Ví dụ năm 2026, 6 tháng đầu năm 2026, giai đoạn 2026-2030."),
    "signer": ("Người ký", "Họ và tên người ký."),
    "replaces": ("Thay thế văn bản", "Văn bản cũ mà văn bản này thay thế (trợ lý ưu tiên văn bản mới)."),
}
TYPES = ("kế hoạch", "báo cáo", "công văn", "hướng dẫn", "quyết định", "thông báo", "chỉ thị", "chương trình",
         "tờ trình", "văn bản")
SCOPE_NAMES = {"ward": "Xã/phường", "province": "Tỉnh/thành phố", "national": "Toàn quốc"}
RE_NUMBER = re.compile(r"^[0-9]+[0-9A-Za-z.]*(?:/(?:19|20)\d\d)?/[A-ZĐ][A-ZĐa-zđ0-9-]*[A-ZĐ0-9]$")
RE_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
RE_ISO = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
RE_MONTH = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
RE_YEAR = re.compile(r"^\d{4}$")
MIN_YEAR, MAX_YEAR = 1945, 2100
MAX_CHARS = {"title": 300, "city": 100, "period": 100, "signer": 100}


class MetadataError(ValueError):
    """The form has problems; `problems` maps a field to what is wrong with it (plain Vietnamese)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{FIELDS[k][0]}: {v}" for k, v in problems.items()))


@dataclass
class Choices:
    """What the select lists offer: wards and the documents a plan may replace."""

    wards: list[str]
    documents: list[tuple[str, str]]  # (id, title)


def editable(doc: Document) -> bool:
    """Plans, reports and guidance are edited here; procedure records come from the national catalogue and ward
    profiles have their own form."""
    return doc.type not in (PROCEDURE_TYPE, PROFILE_TYPE)


def _clean(value: object) -> str:
    text = unicodedata.normalize("NFC", str(value or ""))
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def ward_names(docs: list[Document]) -> list[str]:
    """The ward list: wards with a profile (each profile is a document of the index) and wards named by plans."""
    names: dict[str, str] = {}
    for doc in sorted(docs, key=lambda d: d.type != PROFILE_TYPE):  # a profile spells its ward officially
        if doc.ward and doc.type != PROCEDURE_TYPE:
            names.setdefault(fold(doc.ward), _clean(doc.ward))
    return sorted(names.values(), key=fold)


def choices(docs: list[Document], doc_id: str) -> Choices:
    others = sorted(((d.id, d.title) for d in docs if d.id != doc_id and editable(d)), key=lambda p: fold(p[1]))
    return Choices(ward_names(docs), others)


def form_values(doc: Document) -> dict[str, str]:
    """The form as first shown: the document's values, dates as officers write them."""
    date = str(doc.date or "")
    if m := RE_ISO.match(date):
        date = f"{m.group(3)}/{m.group(2)}/{m.group(1)}" if m.group(3) else f"{m.group(2)}/{m.group(1)}"
    replaces = doc.extra.get("replaces")
    return {"title": doc.title, "type": doc.type or "", "number": doc.number or "", "date": date,
            "scope": doc.scope or "", "ward": doc.ward or "", "city": doc.city or "",
            "year": str(doc.year or ""), "period": doc.period or "", "signer": doc.signer or "",
            "replaces": str(replaces[0] if isinstance(replaces, list) and replaces else replaces or "")}


def parse_date(text: str) -> str | None:
    """'03/02/2026' → '2026-02-03'; '02/2026' → '2026-02'; '2026' → '2026'; '' → None; ValueError otherwise."""
    if not text:
        return None
    if m := RE_DAY.match(text):
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := RE_ISO.match(text):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    elif m := RE_MONTH.match(text):
        day, month, year = 0, int(m.group(1)), int(m.group(2))
    elif RE_YEAR.match(text):
        day, month, year = 0, 0, int(text)
    else:
        raise ValueError("viết theo dạng ngày/tháng/năm, ví dụ 03/02/2026.")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"năm {year} không hợp lệ.")
    if month and not 1 <= month <= 12:
        raise ValueError(f"tháng {month} không có.")
    if day:
        try:
            Date(year, month, day)
        except ValueError:
            raise ValueError(f"ngày {day:02d}/{month:02d}/{year} không có trong lịch.") from None
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{year:04d}-{month:02d}" if month else f"{year:04d}"


def validate(form: dict, doc: Document, options: Choices) -> dict:
    """The front-matter changes the form asks for; MetadataError lists every problem at once."""
    values = {k: _clean(form.get(k, "")) for k in FIELDS}
    problems: dict[str, str] = {}
    for key, limit in MAX_CHARS.items():
        if len(values[key]) > limit:
            problems[key] = f"dài quá {limit} ký tự."
    if not values["title"]:
        problems["title"] = "không được để trống."
    if values["type"] not in (*TYPES, doc.type):
        problems["type"] = "hãy chọn trong danh sách."
    number = re.sub(r"\s*/\s*", "/", values["number"]).replace("–", "-").replace("—", "-")
    if number and not RE_NUMBER.match(number):
        problems["number"] = "viết như trên văn bản, ví dụ 15/KH-UBND (số/ký hiệu)."
    try:
        date = parse_date(values["date"])
    except ValueError as exc:
        problems["date"], date = str(exc), None
    scope = values["scope"] or None
    if scope is not None and scope not in SCOPE_NAMES:
        problems["scope"] = "hãy chọn trong danh sách."
    ward = values["ward"] or None
    known = {fold(w): w for w in options.wards}
    if ward is not None:
        if fold(ward) not in known:
            problems["ward"] = "không có trong danh sách xã/phường. Hãy thêm hồ sơ xã/phường trước."
        else:
            ward = known[fold(ward)]
    if scope == "ward" and ward is None and "ward" not in problems:
        problems["ward"] = "văn bản của xã/phường cần chọn xã/phường."
    year: int | None = None
    if values["year"]:
        if not RE_YEAR.match(values["year"]) or not MIN_YEAR <= int(values["year"]) <= MAX_YEAR:
            problems["year"] = "ghi năm bằng 4 chữ số, ví dụ 2026."
        else:
            year = int(values["year"])
    elif date:
        year = int(date[:4])
    replaces = values["replaces"] or None
    if replaces is not None and replaces not in {i for i, _ in options.documents}:
        problems["replaces"] = "hãy chọn một văn bản có trong kho (không phải chính văn bản này)."
    if problems:
        raise MetadataError(problems)
    changes = {"title": values["title"], "type": values["type"], "number": number or None, "date": date,
               "scope": scope, "ward": ward, "city": values["city"] or None, "year": year,
               "period": values["period"] or None, "signer": values["signer"] or None, "replaces": replaces}
    if date and len(date) == 10:
        changes["date_note"] = None  # the note said the day was blank in the original: now it is known
    return changes


def changed_fields(doc: Document, changes: dict) -> list[str]:
    """Labels of the fields whose value the save changes (for the audit log and the officer's message)."""
    before = {k: getattr(doc, k, None) for k in FIELDS if k != "replaces"} | {"replaces": doc.extra.get("replaces")}
    return [label for key, (label, _) in FIELDS.items() if str(before[key] or "") != str(changes.get(key) or "")]


def save(path: Path, changes: dict) -> Document:
    """Write the changes into the file's front matter (atomic; the file is read back to prove it is valid)."""
    return update_front_matter(path, changes)


def set_disabled(path: Path, disabled: bool) -> Document:
    """Take a document out of service, or back in: a front-matter flag the index build skips."""
    return update_front_matter(path, {DISABLED_FIELD: True if disabled else None})


def shown_value(key: str, doc: Document) -> str:
    """A field as the document page shows it."""
    if key == "date":
        return display_date(doc.date) or ""
    if key == "scope":
        return SCOPE_NAMES.get(doc.scope or "", doc.scope or "")
    if key == "replaces":
        value = doc.extra.get("replaces")
        return ", ".join(value) if isinstance(value, list) else str(value or "")
    value = getattr(doc, key, None)
    return "" if value is None else str(value)
