"""The record format of a national procedure ("thủ tục"): structured front matter plus prose sections.

Channels (time, fee, fee note) and papers live only in the front matter, so an officer corrects them in one
place; `render_procedure_body` turns them back into Markdown for indexing, and `procedure_fields` gives the
answer core a typed view without re-parsing text.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field

from index.types import Document

PROCEDURE_TYPE = "thủ tục"
ONLINE = "Trực tuyến"
# Front-matter keys after the standard ones (documents.FIELDS, which include `scope: national`), in the order
# written: the contract with the answer core.
RECORD_KEYS = (
    "code", "ministry", "levels", "field", "applicants", "agency", "receiving_address", "decision", "result",
    "crawled", "status", "online", "district_era", "channels", "papers", "repairs",
)
CHANNEL_KEYS = ("channel", "time", "time_unit_missing", "fee", "fee_note", "fee_set_by_province",
                "fee_note_differs", "description")
PAPER_KEYS = ("name", "form", "form_file", "copies", "case")


@dataclass
class Channel:
    """One submission channel row: its processing time and fee, the fee's own note kept verbatim."""

    channel: str
    time: str | None = None
    time_unit_missing: bool = False  # the crawl lost the unit: `time` is a bare figure, say so rather than guess
    fee: str | None = None  # "20.000 đồng", "Miễn phí"; None when the page gives none
    fee_note: str | None = None
    fee_set_by_province: bool = False  # the amount is decided by the provincial People's Council (HĐND tỉnh)
    fee_note_differs: bool = False  # the figure is not among the amounts its own note states
    description: str | None = None


@dataclass
class Paper:
    """One paper of the file (thành phần hồ sơ)."""

    name: str
    form: str | None = None  # template name ("Mẫu CT01")
    form_file: str | None = None  # attached template file name as on the portal
    copies: str | None = None  # "1 bản chính", "1 bản chính, 1 bản sao"
    case: str | None = None  # case heading when the page groups papers by case


@dataclass
class ProcedureRecord:
    """Typed view of a procedure document's front matter."""

    code: str
    title: str
    ministry: str | None
    source: str | None
    levels: list[str] = dc_field(default_factory=list)
    field: str | None = None
    applicants: str | None = None
    agency: str | None = None
    receiving_address: str | None = None
    decision: str | None = None
    result: str | None = None  # what the citizen receives ("Giấy thông hành …"), "; "-joined
    crawled: str | None = None
    status: str = "active"
    online: bool = False
    district_era: bool = False
    channels: list[Channel] = dc_field(default_factory=list)
    papers: list[Paper] = dc_field(default_factory=list)
    repairs: list[str] = dc_field(default_factory=list)

    @property
    def fee_set_by_province(self) -> bool:
        return any(c.fee_set_by_province for c in self.channels)


def _pick(data: dict, keys: tuple[str, ...]) -> dict:
    return {k: data.get(k) for k in keys if k in data}


def procedure_fields(doc: Document) -> ProcedureRecord:
    """The structured fields of a "thủ tục" document (front matter keys land in `doc.extra`)."""
    if doc.type != PROCEDURE_TYPE:
        raise ValueError(f"{doc.id}: không phải văn bản loại '{PROCEDURE_TYPE}' (type={doc.type!r}).")
    x = doc.extra
    channels = [Channel(**_pick(c, CHANNEL_KEYS)) for c in x.get("channels") or [] if c.get("channel")]
    papers = [Paper(**_pick(p, PAPER_KEYS)) for p in x.get("papers") or [] if p.get("name")]
    return ProcedureRecord(
        code=str(x.get("code") or doc.id),
        title=doc.title,
        ministry=x.get("ministry") or doc.issuer,
        source=doc.source,
        levels=list(x.get("levels") or []),
        field=x.get("field"),
        applicants=x.get("applicants"),
        agency=x.get("agency"),
        receiving_address=x.get("receiving_address"),
        decision=x.get("decision"),
        result=x.get("result"),
        crawled=None if x.get("crawled") is None else str(x.get("crawled")),
        status=x.get("status") or "active",
        online=bool(x.get("online")),
        district_era=bool(x.get("district_era")),
        channels=channels,
        papers=papers,
        repairs=list(x.get("repairs") or []),
    )


def channel_line(c: Channel) -> str:
    """'Trực tiếp: 7 ngày làm việc; lệ phí 20.000 đồng (note)' — a fee figure never without its note."""
    time = c.time or "chưa có thông tin thời hạn"
    if c.time_unit_missing:
        time = f"{c.time} (trang không ghi đơn vị)"
    parts = [f"{c.channel}: {time}"]
    if c.fee_set_by_province:
        fee = "lệ phí do HĐND tỉnh quyết định"
        if c.fee and c.fee != "Miễn phí":
            fee += f" (mức chung {c.fee})"
    elif c.fee:
        fee = "miễn lệ phí" if c.fee == "Miễn phí" else f"lệ phí {c.fee}"
    else:
        fee = "lệ phí: chưa có thông tin"
    if c.fee_note:
        fee += f" ({c.fee_note})"
    parts.append(fee)
    text = "; ".join(parts)
    if c.description:
        text += f". {c.description}"
    return text


def paper_line(p: Paper) -> str:
    text = p.name.rstrip()
    form = p.form if p.form and p.form.lower() not in p.name.lower() else None
    extras = [x for x in (form, p.copies) if x]
    if extras:
        text += f" ({'; '.join(extras)})"
    return f"- {text}"


def _intro(rec: ProcedureRecord) -> str:
    name = rec.title if rec.title.lower().startswith("thủ tục") else f"Thủ tục {rec.title}"
    bits = [f"{name} (mã {rec.code})"]
    if rec.levels:
        bits.append("thực hiện tại " + ", ".join(lv.lower() for lv in rec.levels))
    if rec.field:
        bits.append(f"lĩnh vực {rec.field}")
    if rec.ministry:
        bits.append(f"thuộc {rec.ministry}")
    text = ", ".join(bits) + ". "
    text += "Có thể nộp hồ sơ trực tuyến." if rec.online else "Không nộp trực tuyến được; nộp trực tiếp hoặc qua bưu chính."
    if rec.district_era:
        text += " Lưu ý: nội dung trên Cổng còn nhắc cấp huyện (trước ngày 01/7/2025), nay không còn cấp huyện."
    if rec.status == "withdrawn":
        text += " Thủ tục này không còn trên Cổng Dịch vụ công quốc gia ở lần cập nhật gần nhất."
    return text


def render_procedure_body(doc: Document) -> str:
    """Markdown for indexing: intro line, channels and papers from the front matter, then the prose sections."""
    rec = procedure_fields(doc)
    body = doc.body.strip()
    title_line = f"# {doc.title}"
    if body.startswith(title_line):
        body = body[len(title_line):].lstrip()
    out = [title_line, "", _intro(rec), ""]
    if rec.channels:
        out += ["## Cách thức thực hiện", *[f"- {channel_line(c)}" for c in rec.channels], ""]
    if rec.papers:
        out.append("## Thành phần hồ sơ")
        case = None
        for p in rec.papers:
            if p.case != case and p.case:
                out.append(f"{p.case}:")
            case = p.case
            out.append(paper_line(p))
        out.append("")
    if body:
        out.append(body)
    return "\n".join(out).strip() + "\n"
