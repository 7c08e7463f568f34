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
UPPER_NAME = r"[A-ZĐÀ-Ỹ]+(?:[ ][A-ZĐÀ-Ỹ]+){0,3}"
DASHES = "-‐‑–—"
RE_NUMBER = re.compile(
    rf"Số\s*:?\s*([0-9]+[0-9A-Za-z.]*(?:\s*/\s*(?:19|20)\d\d)?)\s*/\s*([A-ZĐ][A-ZĐa-zđ0-9{DASHES}]*[A-ZĐ0-9])"
)
RE_NUMBER_BLANK = re.compile(r"Số\s*:?\s*[.…\s]*/\s*([A-ZĐ][A-ZĐ0-9\-]+)")
RE_PLACE_DATE = re.compile(
    r"ngày\s*(\d{1,2})?\s*tháng\s*(\d{1,2})?\s*năm\s*(\d{4})", re.IGNORECASE
)
RE_NUMERIC_DATE = re.compile(r"ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})")
RE_ATTACHED = re.compile(
    r"Kèm theo\s+(Quyết định|Kế hoạch|Công văn)\s+số\s*([0-9]+/[A-ZĐ\-]+)?[^,)]*?ngày\s+([0-9/ ]+|.*?năm \d{4})"
)
RE_UNIT = re.compile(rf"\b(PHƯỜNG|XÃ|THỊ TRẤN|ĐẶC KHU)\s+({UPPER_NAME})")
RE_PROVINCE_UNIT = re.compile(rf"\b(TỈNH|THÀNH PHỐ)\s+({UPPER_NAME})")
RE_NATIONAL = re.compile(rf"\b(?:THỦ TƯỚNG CHÍNH PHỦ|VĂN PHÒNG CHÍNH PHỦ|CHÍNH PHỦ|QUỐC HỘI|BỘ\s+({UPPER_NAME}))")
NATIONAL_NAMES = {"THỦ TƯỚNG CHÍNH PHỦ": "Thủ tướng Chính phủ", "VĂN PHÒNG CHÍNH PHỦ": "Văn phòng Chính phủ",
                  "CHÍNH PHỦ": "Chính phủ", "QUỐC HỘI": "Quốc hội"}
RE_DEPARTMENT = re.compile(rf"\b(SỞ|BAN|VĂN PHÒNG|THANH TRA|TRUNG TÂM)\s+({UPPER_NAME}(?:,\s*{UPPER_NAME})*)")
RE_UNIT_TEXT = re.compile(rf"\b(phường|xã|thị trấn|đặc khu)\s+({NAME})")
RE_CITY = re.compile(rf"\b(?:thành phố|tỉnh)\s+({NAME})")
RE_PERIOD = re.compile(r"(6 tháng (?:đầu|cuối) năm \d{4}|giai đoạn \d{4}\s*-\s*\d{4}|năm \d{4})", re.IGNORECASE)
RE_PERSON = re.compile(rf"^{NAME}$")
# The wards merged into this one in 2025, as plans write them: "của 03 phường cũ: Hưng Phú, Phú Thứ và Tân Phú",
# "trên cơ sở sắp xếp (toàn bộ diện tích …) các xã Tân Lập, Tân Hòa và thị trấn Cát Hải". Citizens still say them.
_OLD_UNIT = r"(?:phường|xã|thị trấn)"
_NAME_LIST = rf"{NAME}(?:\s*(?:,|và)\s*(?:{_OLD_UNIT}\s+)?{NAME})*"
RE_FORMER = re.compile(
    rf"\b{_OLD_UNIT}\s+cũ\s*[:(]?\s*({_NAME_LIST})"
    rf"|\b(?:sắp xếp|sáp nhập|hợp nhất|nhập)\b[^.;:\n]{{0,80}}?\b(?:các\s+)?{_OLD_UNIT}\s+({_NAME_LIST})")
RE_SUBJECT = re.compile(r"^V/v\s*:?\s*(.+)$", re.IGNORECASE)
# The national motto in any spelling offices use ('HÒA'/'HOÀ', hyphen or en dash): never part of a name.
RE_MOTTO_ANY = re.compile(r"C[ỘộO]NG\s+H(?:ÒA|OÀ|òa|oà)\s+X[ÃA]\s+H[ỘO]I\s+CH[ỦU]\s+NGH[ĨI]A\s+VI[ỆE]T\s+NAM|"
                          r"Độc\s+lập\s*[-–—‐]\s*Tự\s+do\s*[-–—‐]\s*Hạnh\s+phúc", re.IGNORECASE)
GENERIC_CITY_WORDS = {"Hồ", "Trung", "Nhà"}
# Type code in the number ("123/KH-UBND") -> document type, for documents whose type is not printed.
TYPE_CODES = {"KH": "kế hoạch", "BC": "báo cáo", "HD": "hướng dẫn", "QĐ": "quyết định", "TB": "thông báo",
              "CT": "chỉ thị", "TTr": "tờ trình", "CTr": "chương trình"}
AGENCY = "Ủy ban nhân dân"


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


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) > 0.8 * len(letters)


def _sentence_case(text: str, names: list[str]) -> str:
    """'TUYÊN TRUYỀN … TỈNH QUẢNG TRỊ' -> 'tuyên truyền … tỉnh Quảng Trị' (known names keep their capitals)."""
    out = text.lower()
    for name in names:
        out = re.sub(rf"\b{re.escape(name.lower())}\b", name, out)
    return out


def agency_lines(header: list[str]) -> str:
    """The issuing agency as printed at the top left, in capitals: 'ỦY BAN NHÂN DÂN | TỈNH QUẢNG TRỊ'."""
    parts = []
    for line in header:
        if re.match(r"^\s*Số\b", line) or RE_PLACE_DATE.search(line):
            break
        for segment in re.split(r"\s{2,}", RE_MOTTO_ANY.sub("  ", line)):
            if _is_upper(segment) and segment.strip():
                parts.append(segment.strip())
    return " | ".join(parts)  # names never run across lines


@dataclass
class Issuer:
    name: str | None
    scope: str | None  # ward | province | national
    ward: str | None
    province: str | None


def read_issuer(agency: str) -> Issuer:
    """Who signed, at which level: a ward's UBND, a province's UBND or department, or a ministry."""
    agency = re.sub(r"\bUBND\b", "ỦY BAN NHÂN DÂN", agency.replace("UỶ BAN", "ỦY BAN"))
    unit = RE_UNIT.search(agency)
    province = RE_PROVINCE_UNIT.search(agency)
    province_name = _title_case(province.group(2)) if province else None
    if unit:
        ward = f"{unit.group(1).lower()} {_title_case(unit.group(2))}"
        return Issuer(f"{AGENCY} {ward}", "ward", ward, province_name)
    if province:
        place = f"{province.group(1).lower()} {province_name}"
        department = RE_DEPARTMENT.search(agency, province.end())  # 'UBND TỈNH X | SỞ NỘI VỤ'
        if department:
            name = department.group(1).capitalize() + " " + department.group(2).capitalize()
            return Issuer(f"{name} {place}", "province", None, province_name)
        return Issuer(f"{AGENCY} {place}", "province", None, province_name)
    if national := RE_NATIONAL.search(agency):
        name = f"Bộ {national.group(1).capitalize()}" if national.group(1) else NATIONAL_NAMES[national.group(0)]
        return Issuer(name, "national", None, None)
    return Issuer(None, None, None, None)


def _own_type(cleaned: CleanedText, number: re.Match | None, header: str, body: str) -> tuple[str, str]:
    """(Type as printed in titles, type value): from the caps title, else the number's code, else the layout."""
    if cleaned.doc_type:
        return cleaned.doc_type.capitalize(), cleaned.doc_type.lower()
    code = number.group(2).split("-")[0] if number else ""
    if code in TYPE_CODES:
        return TYPE_CODES[code].capitalize(), TYPE_CODES[code]
    if re.search(r"^Kính gửi", body, re.M) or re.search(r"\bV/v\b", header):
        return "Công văn", "công văn"
    return "Văn bản", "văn bản"


def propose(cleaned: CleanedText, source: str | None = None) -> ProposedMetadata:
    header = RE_MOTTO_ANY.sub("  ", RE_MOTTO.sub("  ", "\n".join(cleaned.header))).replace("UỶ BAN", "ỦY BAN")
    notes = " ".join(cleaned.notes + cleaned.appendix_notes)
    body = cleaned.body
    values: dict = {}
    issuer = read_issuer(agency_lines(cleaned.header))

    # Number: the document's own, else the decision it is attached to.
    number = RE_NUMBER.search(header)
    values["number"] = None
    if number:
        own = re.sub(r"\s+", "", f"{number.group(1)}/{number.group(2)}")
        values["number"] = re.sub(f"[{DASHES}]", "-", own)
    attached = RE_ATTACHED.search(notes)
    if attached and attached.group(2) and attached.group(2) != values["number"]:
        values["attached_to"] = f"{attached.group(1)} số {attached.group(2)}"

    # Type and title: the caps title block, the subject line of a letter ('V/v …').
    kind, values["type"] = _own_type(cleaned, number, header, body)
    subject = " ".join(cleaned.title_lines).strip()
    if not subject and (m := next((RE_SUBJECT.match(ln.strip()) for ln in cleaned.header
                                   if RE_SUBJECT.match(ln.strip())), None)):
        subject = "về việc " + m.group(1).strip()
    names = [n for n in (issuer.province, issuer.ward and issuer.ward.split(" ", 1)[-1]) if n]
    if subject and _is_upper(subject):
        subject = _sentence_case(subject, names)
    values["title"] = f"{kind} {subject[0].lower()}{subject[1:]}" if subject else None

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
    elif issuer.scope is None and (m := RE_UNIT_TEXT.search(subject)):
        values["ward"] = f"{m.group(1)} {m.group(2)}"
    else:
        values["ward"] = None
    if issuer.scope in ("province", "national"):
        values["issuer"] = issuer.name
    elif "ỦY BAN NHÂN DÂN" in header.upper() or re.search(r"TM\.\s*ỦY BAN|TM\.\s*UỶ BAN", " ".join(cleaned.signature)):
        values["issuer"] = f"{AGENCY} {values['ward']}" if values["ward"] else f"{AGENCY} (không ghi tên xã/phường)"
    else:
        values["issuer"] = f"{AGENCY} {values['ward']}" if values["ward"] else None
    values["scope"] = issuer.scope or ("ward" if values["ward"] or values["issuer"] else None)
    if values["scope"] == "ward" and values["ward"]:
        values["former_names"] = former_names(body, values["ward"]) or None

    # City/province: the issuer's, else the most named one in the text.
    full = "\n".join([header, subject, body])
    cities = Counter(m.group(1) for m in RE_CITY.finditer(full) if m.group(1).split()[0] not in GENERIC_CITY_WORDS)
    values["city"] = issuer.province or (cities.most_common(1)[0][0] if cities else None)

    period = RE_PERIOD.search(subject) if subject else None
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

    wanted = ("title", "number", "date", "ward", "city", "period", "signer")
    if values["scope"] in ("province", "national"):
        wanted = tuple(k for k in wanted if k != "ward")  # a province's document names no ward
    missing = [k for k in wanted if not values.get(k)]
    if values["title"] is None:
        values["title_hint"] = _first_sentence(body)
    if RE_NUMBER_BLANK.search(header) and not number:
        values["number_note"] = "Số văn bản để trống trong bản gốc"
    return ProposedMetadata(values, missing)


def former_names(body: str, ward: str | None) -> list[str]:
    """The names a ward went by before the 2025 mergers, as its own document lists them (its own name left out)."""
    own = ward_key(ward)
    out: list[str] = []
    for m in RE_FORMER.finditer(body):
        for name in re.split(rf"\s*(?:,|\bvà\b)\s*", m.group(1) or m.group(2)):
            name = re.sub(rf"^{_OLD_UNIT}\s+", "", name.strip())
            if name and ward_key(name) != own and name not in out:
                out.append(name)
    return out


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

