"""Import the National Public Service Portal crawl into officer-readable records (knowledge/procedures/).

Re-runnable and deterministic: the same crawl gives byte-identical files; a later crawl rewrites only changed
records and marks the ones it no longer contains as withdrawn (the file is kept). Every repair of the crawl's
defects is recorded per record (`repairs`) and counted in the summary; wrong pages are left out with a reason.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from index.documents import read_document, write_document
from index.procedure_record import CHANNEL_KEYS, PAPER_KEYS, PROCEDURE_TYPE, RECORD_KEYS
from index.procedure_tables import NO_INFO, clean_text, parse_channels, parse_legal_basis, parse_papers
from index.types import Document

MINISTRIES = {
    "bo-cong-an": "Bộ Công an",
    "bo-tai-chinh": "Bộ Tài chính",
    "bo-tu-phap": "Bộ Tư pháp",
    "bo-xay-dung": "Bộ Xây dựng",
    "bo-nong-nghiep-mt": "Bộ Nông nghiệp và Môi trường",
    "ngan-hang-nha-nuoc": "Ngân hàng Nhà nước Việt Nam",
    "toa-an-nhan-dan": "Tòa án nhân dân",
}
# Month of the crawl per ministry folder ("*" = default); the People's Court pages were fetched a month later.
DEFAULT_CRAWLED = {"*": "2026-06", "toa-an-nhan-dan": "2026-07"}
NAME_MATCH_MIN = 70  # fuzzy ratio (0-100) below which the page's name is not the official name of its code
REPORT_NAME = "import-report.txt"  # not *.md: the knowledge loader reads every *.md as a document

_UI_TAIL = re.compile(r"Từ khóa(?P<kw>.*?)Mô tả(?P<desc>.*?)(?:Chọn cơ quan thực hiện.*)?$", re.S)
_UI_ONLY = re.compile(r"Chọn cơ quan thực hiện.*$", re.S)
_RESULT_CODE = re.compile(r"Mã:\s*KQ\.\w\d+\.\d+")
_PAGE_CODE = re.compile(r"Mã thủ tục\s*(\d+\.\d+)")
_DISTRICT = re.compile(
    r"cấp\s+huyện|(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân|Phòng Tư pháp)\s+(?:quận|huyện)", re.IGNORECASE)


class ImportError_(Exception):
    """The crawl folder cannot be imported; the message says what to fix."""


@dataclass
class OfficialEntry:
    name: str
    issuer: str | None
    agency: str | None
    field: str | None


@dataclass
class Outcome:
    slug: str
    code: str
    doc: Document | None = None
    skipped: str | None = None  # reason (Vietnamese) when left out
    repairs: list[str] = field(default_factory=list)


@dataclass
class ImportSummary:
    per_ministry: dict[str, Counter] = field(default_factory=dict)  # slug → raw/imported/skipped/withdrawn/…
    repairs: Counter = field(default_factory=Counter)  # repair code → number of records
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (slug, code, reason)
    flagged: dict[str, list[str]] = field(default_factory=dict)  # repair code → codes, for the report lists

    def count(self, slug: str, key: str, n: int = 1) -> None:
        self.per_ministry.setdefault(slug, Counter())[key] += n


def _norm_name(text: str | None) -> str:
    text = unicodedata.normalize("NFC", text or "")
    text = re.sub(r"\s+", " ", text).strip().lower().rstrip(".")
    return re.sub(r"^thủ tục\s+", "", text)


def _value(text: str | None) -> str | None:
    text = clean_text(text)
    return None if not text or text in (NO_INFO, "--") else text


def load_official_lists(lists_dir: Path) -> dict[str, OfficialEntry]:
    """code → official list entry, from the portal's per-ministry xlsx lists (header row 'Mã số', 'Tên', …)."""
    from openpyxl import load_workbook

    entries: dict[str, OfficialEntry] = {}
    for path in sorted(lists_dir.glob("*.xlsx")):
        sheet = load_workbook(path, read_only=True).worksheets[0]
        header_seen = False
        for row in sheet.iter_rows(values_only=True):
            cells = [None if c is None else str(c) for c in (row + (None,) * 5)[:5]]
            if not header_seen:
                header_seen = (cells[0] or "").strip() == "Mã số"
                continue
            if cells[0] and cells[0].strip():
                multi = [_value(c.replace("\n", "; ")) if c else None for c in cells[2:5]]
                entries[cells[0].strip()] = OfficialEntry(clean_text(cells[1]), *multi)
    return entries


def _strip_ui(text: str) -> tuple[str, str | None, bool]:
    """Cut the portal's interface text ("Từ khóa…Mô tả…Chọn cơ quan thực hiện…Nộp hồ sơ") from a field."""
    if m := _UI_TAIL.search(text):
        return text[:m.start()], _value(m.group("desc")), True
    if m := _UI_ONLY.search(text):
        return text[:m.start()], None, True
    return text, None, False


def _steps(text: str) -> str:
    text = clean_text(text)
    text = re.sub(r"\s*(?<!\n)(Bước\s+\d+\s*[:.])", r"\n\1", text).strip()
    return text


def _section(title: str, lines: list[str]) -> list[str]:
    lines = [ln for ln in lines if ln and ln.strip()]
    return [f"## {title}", *lines, ""] if lines else []


def convert(raw: dict, slug: str, code: str, official: dict[str, OfficialEntry], crawled: str) -> Outcome:
    """One raw page → a procedure Document, or the reason it is left out."""
    out = Outcome(slug, code)
    repairs: set[str] = set()
    name = " ".join(clean_text(raw.get("ten_thu_tuc")).split())
    page_code = m.group(1) if (m := _PAGE_CODE.search(raw.get("raw_text") or "")) else None
    entry = official.get(code)
    if raw.get("ma_thu_tuc", code) != code or (page_code and page_code != code):
        out.skipped = f"trang sai: trang ghi mã {page_code or raw.get('ma_thu_tuc')}, tệp mang mã {code}"
    if entry:
        score = fuzz.ratio(_norm_name(name), _norm_name(entry.name))
        if score < NAME_MATCH_MIN:
            why = f"tên trên trang «{name[:80]}» khác tên trong danh mục «{entry.name[:80]}» (giống {score:.0f}%)"
            out.skipped = f"{out.skipped}; {why}" if out.skipped else f"trang sai: {why}"
    else:
        repairs.add("not_in_official_list")
    if out.skipped:
        return out
    if name.startswith("Thủ tục ") and entry and not _norm_name(entry.name).startswith("thủ tục"):
        if not entry.name.lower().startswith("thủ tục"):
            name = name[len("Thủ tục "):]
            name = name[:1].upper() + name[1:]
            repairs.add("title_prefix_dropped")

    channels, codes = parse_channels(raw.get("cach_thuc_thuc_hien") or "")
    repairs.update(codes)
    papers, codes = parse_papers(raw.get("thanh_phan_ho_so") or "")
    repairs.update(codes)
    legal, codes = parse_legal_basis(raw.get("can_cu_phap_ly") or "")
    repairs.update(codes)
    result, note, stripped = _strip_ui(raw.get("ket_qua_xu_ly") or "")
    conditions, note2, stripped2 = _strip_ui(raw.get("yeu_cau_dieu_kien") or "")
    if stripped or stripped2:
        repairs.add("interface_text_stripped")
    results = [clean_text(r) for r in _RESULT_CODE.split(result)]

    agency = _value(raw.get("co_quan_thuc_hien")) or _value(raw.get("co_quan_co_tham_quyen"))
    if not agency and entry and entry.agency:
        agency = entry.agency
        repairs.add("agency_from_official_list")
    field_ = _value(raw.get("linh_vuc")) or (entry.field if entry else None)
    prose = " ".join(str(raw.get(k) or "") for k in (
        "trinh_tu_thuc_hien", "cach_thuc_thuc_hien", "thanh_phan_ho_so", "yeu_cau_dieu_kien", "ket_qua_xu_ly",
        "co_quan_thuc_hien", "co_quan_co_tham_quyen", "co_quan_phoi_hop", "co_quan_duoc_uy_quyen",
        "dia_chi_tiep_nhan", "doi_tuong_thuc_hien"))
    district_era = bool(_DISTRICT.search(prose))
    if district_era:
        repairs.add("district_era_wording")

    agencies = [
        f"- Cơ quan thực hiện: {agency}" if agency else "",
        f"- Cơ quan có thẩm quyền: {v}" if (v := _value(raw.get("co_quan_co_tham_quyen"))) and v != agency else "",
        f"- Cơ quan phối hợp: {v}" if (v := _value(raw.get("co_quan_phoi_hop"))) else "",
        f"- Cơ quan được ủy quyền: {v}" if (v := _value(raw.get("co_quan_duoc_uy_quyen"))) else "",
        f"- Địa chỉ tiếp nhận hồ sơ: {v}" if (v := _value(raw.get("dia_chi_tiep_nhan"))) else "",
    ]
    legal_lines = [f"- {r['name']} — {r['number']}" if r["number"] else f"- {r['name']}" for r in legal]
    body = [f"# {name}", ""]
    body += _section("Trình tự thực hiện", [_steps(raw.get("trinh_tu_thuc_hien") or "")])
    body += _section("Yêu cầu, điều kiện", [_value(conditions) or ""])
    body += _section("Căn cứ pháp lý", legal_lines)
    body += _section("Kết quả", [f"- {r}" for r in results if r and r != NO_INFO])
    body += _section("Cơ quan thực hiện", agencies)
    body += _section("Lưu ý", [n for n in (note, note2) if n])

    ministry = MINISTRIES.get(slug) or (entry.issuer if entry else None) or slug
    levels = [lv.strip() for lv in (raw.get("cap_thuc_hien") or "").split(",") if lv.strip()]
    extra = {
        "code": code,
        "ministry": ministry,
        "levels": levels,
        "field": field_,
        "applicants": _value(raw.get("doi_tuong_thuc_hien")),
        "agency": agency,
        "receiving_address": _value(raw.get("dia_chi_tiep_nhan")),
        "decision": _value(raw.get("so_quyet_dinh")),
        "result": "; ".join(r for r in results if r and r != NO_INFO) or None,
        "crawled": crawled,
        "status": "active",
        "online": any(c["channel"] == "Trực tuyến" for c in channels),
        "district_era": district_era,
        "channels": [{k: c[k] for k in CHANNEL_KEYS} for c in channels],
        "papers": [{k: p[k] for k in PAPER_KEYS} for p in papers],
        "repairs": sorted(repairs),
    }
    assert tuple(extra) == RECORD_KEYS
    out.doc = Document(id=code, title=name, body="\n".join(body).strip(), type=PROCEDURE_TYPE, issuer=ministry,
                       source=_value(raw.get("detail_url")), scope="national", extra=extra)
    out.repairs = sorted(repairs)
    return out


def _write_if_changed(doc: Document, path: Path) -> bool:
    """Write through documents.write_document, but leave the file untouched when nothing changed."""
    staged = path.with_name(path.name + ".new")
    write_document(doc, staged)
    if path.exists() and path.read_bytes() == staged.read_bytes():
        staged.unlink()
        return False
    staged.replace(path)
    return True


def _mark_withdrawn(path: Path) -> bool:
    doc = read_document(path)
    if doc.extra.get("status") == "withdrawn":
        return False
    doc.extra["status"] = "withdrawn"
    return _write_if_changed(doc, path)


def import_procedures(src: Path, out: Path, crawled: dict[str, str] | None = None,
                      progress: bool = False) -> ImportSummary:
    """Import every raw/<ministry>/<code>.json under `src` (with lists/*.xlsx) into out/<ministry>/<code>.md."""
    raw_dir = src / "raw" if (src / "raw").is_dir() else src
    files = sorted(raw_dir.glob("*/*.json"))
    if not files:
        raise ImportError_(f"Không thấy tệp raw/<bộ>/<mã>.json nào trong {src}. Hãy trỏ tới thư mục bản crawl.")
    lists_dir = src / "lists"
    official = load_official_lists(lists_dir) if lists_dir.is_dir() else {}
    crawled = {**DEFAULT_CRAWLED, **(crawled or {})}
    summary = ImportSummary()
    seen: dict[str, set[str]] = {}
    iterator = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc="Nhập thủ tục", unit="thủ tục")
    for path in iterator:
        slug, code = path.parent.name, path.stem
        seen.setdefault(slug, set()).add(code)
        summary.count(slug, "raw")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            summary.skipped.append((slug, code, f"không đọc được tệp JSON: {exc}"))
            summary.count(slug, "skipped")
            continue
        outcome = convert(raw, slug, code, official, crawled.get(slug, crawled["*"]))
        if outcome.doc is None:
            summary.skipped.append((slug, code, outcome.skipped or ""))
            summary.count(slug, "skipped")
            continue
        summary.count(slug, "imported")
        for r in outcome.repairs:
            summary.repairs[r] += 1
            summary.flagged.setdefault(r, []).append(code)
        if _write_if_changed(outcome.doc, out / slug / f"{code}.md"):
            summary.count(slug, "written")
    for slug, codes in sorted(seen.items()):
        for path in sorted((out / slug).glob("*.md")):
            if path.stem not in codes and _mark_withdrawn(path):
                summary.count(slug, "withdrawn")
    return summary


REPAIR_LABELS = {
    "table_split": "tách bảng bị dàn phẳng thành hàng và cột",
    "fee_figure_formatted": "chuẩn hoá số tiền (10,000 Việt Nam Đồng → 10.000 đồng)",
    "time_unit_missing": "thời hạn mất đơn vị: giữ nguyên con số và đánh dấu, không đoán",
    "time_fee_digits_split": "thời hạn mất đơn vị dính vào số tiền (120 VNĐ = 1 | 20 VNĐ): đã tách",
    "fee_note_differs": "số tiền khác với ghi chú của chính nó: luôn hiện kèm ghi chú",
    "fee_note_unclosed": "ghi chú lệ phí bị cắt giữa chừng (thiếu ngoặc đóng)",
    "fee_set_by_province": "lệ phí do HĐND tỉnh quyết định: đã đánh dấu",
    "district_era_wording": "còn nhắc cấp huyện (trước 01/7/2025): đã đánh dấu",
    "interface_text_stripped": "bỏ chữ giao diện của Cổng lọt vào trường (Chọn cơ quan thực hiện… Nộp hồ sơ)",
    "agency_from_official_list": "trang thiếu cơ quan thực hiện: lấy từ danh mục chính thức",
    "title_prefix_dropped": "bỏ chữ «Thủ tục» ở đầu tên (danh mục chính thức không có)",
    "papers_unstructured": "thành phần hồ sơ không ở dạng bảng: giữ nguyên văn",
    "form_file_split": "tách tên tệp mẫu đơn khỏi tên giấy tờ",
    "channels_unparsed": "không tách được cách thức thực hiện",
    "not_in_official_list": "mã không có trong danh mục chính thức (không kiểm tra được trang)",
}
_LISTED = ("time_unit_missing", "time_fee_digits_split", "fee_note_differs", "fee_note_unclosed",
           "district_era_wording", "papers_unstructured", "channels_unparsed", "not_in_official_list")


def render_report(summary: ImportSummary, source_name: str) -> str:
    """The import report for officers (Vietnamese, deterministic: no timestamps, stable order)."""
    lines = [f"BÁO CÁO NHẬP THỦ TỤC HÀNH CHÍNH TỪ CỔNG DỊCH VỤ CÔNG QUỐC GIA (bản crawl: {source_name})", "",
             "1. Số bản ghi theo bộ, ngành (trang thô / đã nhập / bỏ qua / đánh dấu ngừng)", ""]
    totals = Counter()
    for slug in sorted(summary.per_ministry):
        c = summary.per_ministry[slug]
        totals.update({k: c[k] for k in ("raw", "imported", "skipped", "withdrawn")})
        lines.append(f"- {MINISTRIES.get(slug, slug)} ({slug}): {c['raw']} / {c['imported']} / {c['skipped']}"
                     f" / {c['withdrawn']}")
    lines.append(f"- Tổng: {totals['raw']} / {totals['imported']} / {totals['skipped']} / {totals['withdrawn']}")
    lines += ["", "2. Các sửa lỗi đã làm (số bản ghi có sửa lỗi đó)", ""]
    for code, n in sorted(summary.repairs.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"- {code}: {n} — {REPAIR_LABELS.get(code, code)}")
    lines += ["", "3. Bản ghi bị bỏ qua (không ghi tệp; tệp cũ nếu có được giữ nguyên)", ""]
    for slug, code, reason in sorted(summary.skipped):
        lines.append(f"- {code} ({slug}): {reason}")
    if not summary.skipped:
        lines.append("- (không có)")
    lines += ["", "4. Danh sách mã cần cán bộ xem lại, theo loại", ""]
    for code in _LISTED:
        if codes := sorted(summary.flagged.get(code, [])):
            lines.append(f"{REPAIR_LABELS[code]} ({len(codes)}):")
            lines.append(", ".join(codes))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def print_summary(summary: ImportSummary) -> str:
    """Short console summary: totals, repairs, records left out."""
    totals = Counter()
    for c in summary.per_ministry.values():
        totals.update(c)
    lines = [f"Đã nhập {totals['imported']}/{totals['raw']} thủ tục ({totals['written']} tệp ghi mới hoặc thay đổi, "
             f"{totals['withdrawn']} đánh dấu ngừng), bỏ qua {totals['skipped']}."]
    lines += [f"  sửa {code}: {n}" for code, n in sorted(summary.repairs.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += [f"  bỏ qua {code} ({slug}): {reason}" for slug, code, reason in sorted(summary.skipped)]
    return "\n".join(lines)
