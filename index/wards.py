"""Ward profiles (`knowledge/wards/<ward>.yaml`): a ward's name, province, former names and service centre.

Officers edit them (console form or the file itself); each is checked when read, every problem named in plain
Vietnamese, and becomes one small indexed document ("Thông tin phường An Hải, cập nhật 02/12/2026") so questions
about office hours, the address or the phone number are answered — and cited — from it like any document.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path

import phonenumbers
import yaml

from index.chunk import PROFILE_TYPE, display_date
from index.types import Document
from index.vietnamese import fold

UNITS = ("phường", "xã", "đặc khu")  # commune-level units since the 2025 reorganisation
_UNIT_BY_FOLD = {fold(u): u for u in UNITS}
_OLD_UNITS = r"phuong|xa|dac khu|thi tran"  # former names may be townships (thị trấn)
PROVINCE_UNITS = ("tỉnh", "thành phố")
FIELD_NAMES = {  # key → what officers call it (error messages, the console form)
    "unit": "cấp (phường, xã, đặc khu)", "name": "tên", "province": "tỉnh, thành phố",
    "former_names": "tên trước khi sắp xếp năm 2025", "centre": "tên nơi tiếp dân", "address": "địa chỉ",
    "hours": "giờ làm việc", "phone": "số điện thoại", "updated": "ngày cập nhật", "example": "dữ liệu mẫu",
    "note": "ghi chú cho cán bộ",
}
REQUIRED = ("unit", "name", "province", "address", "hours", "phone", "updated")
LEGACY = {"ward"}  # "ward: phường An Hải" (unit and name in one), read for older files
SAMPLE = "dữ liệu mẫu, chưa phải thông tin thật"


class WardProfileError(ValueError):
    """A profile cannot be used; `problems` lists each one in plain Vietnamese (field name first)."""

    def __init__(self, where: str, problems: list[str]) -> None:
        self.where, self.problems = where, problems
        super().__init__(f"{where}: " + "; ".join(problems))


@dataclass(frozen=True)
class WardProfile:
    unit: str  # phường | xã | đặc khu
    name: str  # "An Hải"
    province: str  # "thành phố Hải Phòng"
    address: str
    hours: str
    phone: str  # as the officer wrote it; every number in it is a valid Vietnamese number
    updated: str  # ISO date
    centre: str = ""
    former_names: tuple[str, ...] = ()
    example: bool = False  # sample data shipped with the project, not a real office
    note: str = ""  # for officers only
    file: str = field(default="", compare=False)  # file stem, "phuong-an-hai"

    @property
    def ward(self) -> str:
        return f"{self.unit} {self.name}"

    @property
    def centre_name(self) -> str:
        return self.centre or f"Trung tâm Phục vụ hành chính công {self.ward}"

    def shown(self, value: str) -> str:
        """A fact as citizens see it: sample data says so every time it is shown."""
        return f"{value} ({SAMPLE})" if self.example else value

    @property
    def title(self) -> str:
        return f"Thông tin {self.ward}, cập nhật {display_date(self.updated)}"

    def names(self) -> set[str]:
        """Keys of every name the ward goes by, unit left out: its own and its former names."""
        return {k for k in (place_key(n) for n in (self.name, *self.former_names)) if k}

    def to_yaml(self) -> str:
        """The file text, with a header comment that says whether the data is a sample."""
        head = ("# DỮ LIỆU MẪU — địa chỉ, giờ làm việc và số điện thoại dưới đây là ví dụ, chưa phải của đơn vị thật.\n"
                "# Cán bộ thay bằng thông tin thật rồi bỏ dòng `example: true`.\n" if self.example else
                f"# Hồ sơ {self.ward}: cán bộ sửa trên bảng điều khiển (Tri thức → Xã, phường) hoặc sửa tệp này.\n")
        data: dict = {"unit": self.unit, "name": self.name, "province": self.province,
                      "former_names": list(self.former_names), "centre": self.centre or None,
                      "address": self.address, "hours": self.hours, "phone": self.phone,
                      "updated": Date.fromisoformat(self.updated)}
        if self.example:
            data["example"] = True
        if self.note:
            data["note"] = self.note
        data = {k: v for k, v in data.items() if v is not None}
        return head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)


def place_key(name: str | None) -> str:
    """"phường An Hải", "xã An Hải", "An Hải", "an hai" → "an hai": one place whatever unit is written."""
    words = " ".join(re.findall(r"[a-z0-9]+", fold(name or "")))
    return re.sub(rf"^(?:{_OLD_UNITS})\s+", "", words)


def ward_file_name(ward: str) -> str:
    """"phường An Hải" → "phuong-an-hai.yaml"."""
    return "-".join(re.findall(r"[a-z0-9]+", fold(ward))) + ".yaml"


def _text(data: dict, key: str, problems: list[str], required: bool) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"thiếu “{FIELD_NAMES[key]}” ({key})")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems.append(f"“{FIELD_NAMES[key]}” ({key}) phải là một dòng chữ")
        return ""
    return " ".join(str(value).split())


def phone_problem(text: str) -> str | None:
    """Why a phone field is not usable, or None. Several numbers may be separated by "," ";" or "hoặc"."""
    parts = [p.strip() for p in re.split(r"[,;]|\bhoặc\b", text) if p.strip()]
    if not parts:
        return "chưa có số nào"
    for part in parts:
        try:
            number = phonenumbers.parse(part, "VN")
        except phonenumbers.NumberParseException:
            return f"“{part}” không phải số điện thoại"
        if not phonenumbers.is_valid_number(number):
            return f"“{part}” không phải số điện thoại Việt Nam hợp lệ (ví dụ đúng: 0225 3822 123)"
    return None


def _updated(value, problems: list[str]) -> str:
    if isinstance(value, Date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return Date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    if value is None:
        problems.append(f"thiếu “{FIELD_NAMES['updated']}” (updated), ví dụ 2026-12-02")
    else:
        problems.append(f"“{FIELD_NAMES['updated']}” (updated) phải viết dạng năm-tháng-ngày, ví dụ 2026-12-02")
    return ""


def parse_profile(data, where: str, file: str = "") -> WardProfile:
    """The profile of one file's YAML data; WardProfileError lists every problem at once."""
    if not isinstance(data, dict):
        raise WardProfileError(where, ["tệp phải gồm các dòng “tên trường: giá trị” (unit, name, province…)"])
    problems: list[str] = []
    unknown = sorted(set(map(str, data)) - set(FIELD_NAMES) - LEGACY)
    if unknown:
        problems.append("trường không biết: " + ", ".join(unknown) + " (kiểm tra lỗi gõ; các trường dùng được: "
                        + ", ".join(FIELD_NAMES) + ")")
    data = dict(data)
    if data.get("ward") and not data.get("unit") and not data.get("name"):  # older files: "ward: phường An Hải"
        m = re.match(r"^\s*(phường|xã|đặc khu|thị trấn)\s+(.+)$", str(data["ward"]), re.IGNORECASE)
        data["unit"], data["name"] = (m.group(1), m.group(2)) if m else (None, data["ward"])
    unit = _UNIT_BY_FOLD.get(fold(_text(data, "unit", problems, True)))
    if data.get("unit") and not unit:
        problems.append(f"cấp “{data['unit']}” không đúng: chỉ dùng phường, xã hoặc đặc khu")
    name = _text(data, "name", problems, True)
    if name and re.match(rf"^(?:{_OLD_UNITS})\s", fold(name)):
        problems.append("tên (name) không ghi cấp: viết “An Hải”, cấp ghi ở trường unit")
    province = _text(data, "province", problems, True)
    if province and not fold(province).startswith(tuple(fold(u) + " " for u in PROVINCE_UNITS)):
        problems.append("tỉnh, thành phố (province) ghi cả cấp, ví dụ “thành phố Hải Phòng” hoặc “tỉnh Quảng Trị”")
    former = data.get("former_names") or []
    if isinstance(former, str):
        former = [former]
    if not isinstance(former, list) or not all(isinstance(f, str) and f.strip() for f in former):
        problems.append("tên trước khi sắp xếp (former_names) là danh sách tên, mỗi dòng “- phường …”")
        former = []
    former = list(dict.fromkeys(" ".join(f.split()) for f in former))
    if name and any(place_key(f) == place_key(name) for f in former):
        problems.append("tên trước khi sắp xếp (former_names) không được trùng tên hiện nay")
    phone = data.get("phone")
    if isinstance(phone, int) and not isinstance(phone, bool):
        problems.append("số điện thoại (phone) phải đặt trong dấu ngoặc kép, ví dụ \"0225 3822 123\" (để giữ số 0 đầu)")
        phone = ""
    else:
        phone = _text(data, "phone", problems, True)
        why = phone_problem(phone) if phone else None
        if why:
            problems.append(f"số điện thoại (phone): {why}")
    address, hours = _text(data, "address", problems, True), _text(data, "hours", problems, True)
    centre, note = _text(data, "centre", problems, False), _text(data, "note", problems, False)
    updated = _updated(data.get("updated"), problems)
    example = data.get("example", False)
    if not isinstance(example, bool):
        problems.append("dữ liệu mẫu (example) chỉ ghi true hoặc bỏ dòng này")
    if problems:
        raise WardProfileError(where, problems)
    return WardProfile(unit=unit or "", name=name, province=province, address=address, hours=hours, phone=phone,
                       updated=updated, centre=centre, former_names=tuple(former), example=bool(example),
                       note=note, file=file)


def read_profile(path: Path) -> WardProfile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (dòng {mark.line + 1})" if mark is not None else ""
        raise WardProfileError(path.name, [f"tệp không đọc được{line}: kiểm tra dấu hai chấm, dấu ngoặc kép"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise WardProfileError(path.name, [f"tệp không mở được ({exc.__class__.__name__})"]) from exc
    return parse_profile(data, path.name, path.stem)


def profile_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.is_file()) if folder.is_dir() else []


def profile_document(profile: WardProfile) -> Document:
    """The profile as one small document: scope ward, cited as "Thông tin phường X, cập nhật …"."""
    centre, ward = profile.centre_name, profile.ward
    lines = [f"# {profile.title}", "", f"## {centre}", "",
             f"Giờ làm việc (giờ mở cửa, tiếp nhận hồ sơ) của {centre}: {profile.shown(profile.hours)}.", "",
             f"Địa chỉ trụ sở của {centre}: {profile.shown(profile.address)}.", "",
             f"Số điện thoại của {centre}: {profile.shown(profile.phone)}.", "",
             "## Địa giới hành chính", "", f"{ward[:1].upper()}{ward[1:]} thuộc {profile.province}."]
    if profile.former_names:
        lines += ["", f"Trước khi sắp xếp đơn vị hành chính năm 2025, địa bàn {ward} là: "
                      f"{', '.join(profile.former_names)}."]
    extra: dict = {"former_names": list(profile.former_names)}
    if profile.example:
        extra["example"] = True
    return Document(id=f"thong-tin-{profile.file or ward_file_name(ward)[:-5]}", title=profile.title,
                    body="\n".join(lines), type=PROFILE_TYPE, date=profile.updated,
                    issuer=f"Ủy ban nhân dân {ward}", ward=ward, city=profile.province, scope="ward",
                    source=None, extra=extra)


def profile_documents(folder: Path, taken: set[str] | frozenset = frozenset()) -> list[Document]:
    """One document per profile of the folder; WardProfileError for the first unusable file or a clash with
    `taken` (the ids of the other documents) or with another profile of the same ward."""
    docs, seen = [], {}
    for path in profile_files(folder):
        profile = read_profile(path)
        other = seen.get(place_key(profile.ward)) or (path.stem if f"thong-tin-{path.stem}" in taken else None)
        if other:
            raise WardProfileError(path.name, [f"trùng với hồ sơ hoặc văn bản “{other}”: mỗi xã, phường một hồ sơ"])
        seen[place_key(profile.ward)] = path.stem
        docs.append(profile_document(profile))
    return docs
