"""Propose a document's metadata from its own text, for an officer to review in the front matter.

Only what the text says: a blank number ("Số:  /KH-UBND") stays empty, a ward that is not
named stays empty. `missing` lists what could not be read, so the officer knows what to fill in.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from index.clean import RE_MOTTO, CleanedText
from index.vietnamese import fold

NAME = r"[A-ZĐÀ-Ỹ][a-zà-ỹđ]+(?:\s+[A-ZĐÀ-Ỹ][a-zà-ỹđ]+){0,3}"
RE_NUMBER = re.compile(r"Số\s*:?\s*([0-9]+[0-9A-Za-z]*)\s*/\s*([A-ZĐ][A-ZĐ0-9\-]+)")
RE_NUMBER_BLANK = re.compile(r"Số\s*:?\s*[.…\s]*/\s*([A-ZĐ][A-ZĐ0-9\-]+)")
RE_PLACE_DATE = re.compile(
    r"ngày\s*(\d{1,2})?\s*tháng\s*(\d{1,2})?\s*năm\s*(\d{4})", re.IGNORECASE
)
RE_NUMERIC_DATE = re.compile(r"ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})")
RE_ATTACHED = re.compile(
    r"Kèm theo\s+(Quyết định|Kế hoạch|Công văn)\s+số\s*([0-9]+/[A-ZĐ\-]+)?[^,)]*?ngày\s+([0-9/ ]+|.*?năm \d{4})"
)
RE_UNIT = re.compile(r"\b(PHƯỜNG|XÃ|THỊ TRẤN|ĐẶC KHU)\s+([A-ZĐÀ-Ỹ]+(?:\s[A-ZĐÀ-Ỹ]+){0,3})")
RE_UNIT_TEXT = re.compile(rf"\b(phường|xã|thị trấn|đặc khu)\s+({NAME})")
RE_CITY = re.compile(rf"\b(?:thành phố|tỉnh)\s+({NAME})")
RE_PERIOD = re.compile(r"(6 tháng (?:đầu|cuối) năm \d{4}|giai đoạn \d{4}\s*-\s*\d{4}|năm \d{4})", re.IGNORECASE)
RE_PERSON = re.compile(rf"^{NAME}$")
GENERIC_CITY_WORDS = {"Hồ", "Trung", "Nhà"}


@dataclass
class ProposedMetadata:
    values: dict
    missing: list[str] = field(default_factory=list)


def _title_case(upper: str) -> str:
    return " ".join(w.capitalize() for w in upper.split())


def _iso(day: str | None, month: str | None, year: str | None) -> str | None:
    if not year:
        return None
    if not month:
        return year
    if not day:
        return f"{int(year):04d}-{int(month):02d}"
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"


def _first_sentence(body: str, limit: int = 120) -> str:
    text = re.sub(r"^#+\s.*$", "", body, flags=re.M).strip()
    return text.split("\n")[0][:limit]


def propose(cleaned: CleanedText, source: str | None = None) -> ProposedMetadata:
    header = RE_MOTTO.sub("  ", "\n".join(cleaned.header))
    notes = " ".join(cleaned.notes + cleaned.appendix_notes)
    title_subject = " ".join(cleaned.title_lines).strip()
    body = cleaned.body
    values: dict = {}

    # Type and title.
    if cleaned.doc_type:
        kind = cleaned.doc_type.capitalize()
        values["type"] = cleaned.doc_type.lower()
    elif re.search(r"^Kính gửi", body, re.M):
        kind, values["type"] = "Công văn", "công văn"
    else:
        kind, values["type"] = "Văn bản", "văn bản"
    if title_subject:
        values["title"] = f"{kind} {title_subject[0].lower()}{title_subject[1:]}"
    else:
        values["title"] = None

    # Number: the document's own, else the decision it is attached to.
    number = RE_NUMBER.search(header)
    values["number"] = f"{number.group(1)}/{number.group(2)}" if number else None
    attached = RE_ATTACHED.search(notes)
    if attached and attached.group(2):
        values["attached_to"] = f"{attached.group(1)} số {attached.group(2)}"

    # Date: place-date line, else the attachment note, else an appendix note.
    date = None
    for text in (header, notes):
        if m := RE_NUMERIC_DATE.search(text):
            date = _iso(m.group(1), m.group(2), m.group(3))
        elif m := RE_PLACE_DATE.search(text):
            date = _iso(m.group(1), m.group(2), m.group(3))
        if date:
            break
    values["date"] = date

    # Ward/commune: header first (printed in capitals), else the title.
    unit = RE_UNIT.search(header)
    if unit:
        values["ward"] = f"{unit.group(1).lower()} {_title_case(unit.group(2))}"
        values["ward"] = re.sub(r"\s+(Độc|Cộng)\b.*$", "", values["ward"])
    elif m := RE_UNIT_TEXT.search(title_subject):
        values["ward"] = f"{m.group(1)} {m.group(2)}"
    else:
        values["ward"] = None
    agency = "Ủy ban nhân dân"
    if "ỦY BAN NHÂN DÂN" in header.upper() or re.search(r"TM\.\s*ỦY BAN|TM\.\s*UỶ BAN", " ".join(cleaned.signature)):
        values["issuer"] = f"{agency} {values['ward']}" if values["ward"] else f"{agency} (không ghi tên xã/phường)"
    else:
        values["issuer"] = f"{agency} {values['ward']}" if values["ward"] else None

    # City/province: the most named one in the text.
    full = "\n".join([header, title_subject, body])
    cities = Counter(m.group(1) for m in RE_CITY.finditer(full) if m.group(1).split()[0] not in GENERIC_CITY_WORDS)
    values["city"] = cities.most_common(1)[0][0] if cities else None

    period = RE_PERIOD.search(title_subject) if title_subject else None
    values["period"] = period.group(1) if period else None
    year = re.search(r"\b(20\d\d)\b", values["period"] or "") or re.search(r"^(\d{4})", values["date"] or "")
    values["year"] = int(year.group(1)) if year else None

    # Signer: the last line of the signature block that is a person's name.
    signer, signer_title = None, None
    for i, line in enumerate(cleaned.signature):
        if RE_PERSON.match(line) and not line.isupper() and len(line.split()) >= 2:
            signer = line
            signer_title = next(
                (cleaned.signature[j] for j in range(i - 1, -1, -1) if cleaned.signature[j].isupper()), None
            )
    values["signer"] = signer
    if signer_title:
        values["signer_title"] = signer_title.capitalize().replace("chủ tịch", "Chủ tịch")
    values["source"] = source
    values["recipients"] = recipients(cleaned.signature) or None

    missing = [k for k in ("title", "number", "date", "ward", "city", "period", "signer") if not values.get(k)]
    if values["title"] is None:
        values["title_hint"] = _first_sentence(body)
    if RE_NUMBER_BLANK.search(header) and not number:
        values["number_note"] = "Số văn bản để trống trong bản gốc"
    return ProposedMetadata(values, missing)


def recipients(signature: list[str]) -> list[str]:
    """The 'Nơi nhận' list (who the document was sent to), without the archive line ('Lưu: VT')."""
    out: list[str] = []
    started = False
    for line in signature:
        if re.match(r"^Nơi nhận", line):
            started = True
            continue
        if not started:
            continue
        if not line.startswith(("-", "+", "•")):
            if out and not line.isupper() and not re.match(r"^(TM|KT|Q)\.", line) and not out[-1].endswith((";", ".")):
                out[-1] += " " + line  # a recipient wrapped onto the next line
                continue
            if out:
                break
            continue
        item = line.lstrip("-+• ").strip()
        if item and not item.startswith("Lưu"):
            out.append(item)
    return [re.sub(r"[;.,]\s*$", "", r).strip() for r in out]


def ward_key(ward: str | None) -> str | None:
    """'phường An Hải' -> 'an hai': what a question names when it mentions the ward."""
    if not ward:
        return None
    return re.sub(r"^(phuong|xa|thi tran|dac khu)\s+", "", fold(ward)).strip()

