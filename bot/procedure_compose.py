"""Short Vietnamese answers from a procedure record: one field, a compact card, or a choice.

Extractive only: every figure, name and sentence comes from the record (front matter or its sections);
what the record lacks is said plainly ("Cổng DVCQG không ghi …"). A fee is never shown without its note,
a time whose unit the crawl lost is shown as the bare figure with that said, fees decided by the provincial
People's Council say so, and district-era wording gets a warning. The body fits a phone (≤ 600 characters);
the sources (code, name, portal address, crawl month) travel separately as citation data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field

from bot.procedure_steps import conditions_text, online_lines, steps_text
from bot.procedure_text import (DISTRICT_WARNING, FEE_NOTE, FIELD_LABELS, MAX_BODY, PORTAL, WITHDRAWN_WARNING,
                                conditional, crawl_month, cut, fee_lines, fee_value, finish, grouped, online_text,
                                paper_cases, paper_text, papers_text, result_text, sections, short_name, sorted_channels,
                                time_lines, unit_note, where_lines, where_text, who_lines)
from bot.procedure_names import RE_FULL_ONLINE
from bot.types import Citation
from index.chunk import CARD_SECTION
from index.procedure_record import Paper, ProcedureRecord, procedure_fields
from index.types import Document

__all__ = ["FIELD_LABELS", "MAX_BODY", "ProcedureAnswer", "compose_card", "compose_choice", "compose_field",
           "compose_fields", "paper_text", "sections", "with_sibling"]


@dataclass
class ProcedureAnswer:
    text: str  # the body (≤ 600 characters), no sources
    facts: dict  # the structured values the text states (for tests, eval and the console's "why")
    citations: list[Citation] = dc_field(default_factory=list)
    sources: list[str] = dc_field(default_factory=list)  # "[1] name (mã …) — cập nhật theo Cổng DVCQG, …: url"
    field: str | None = None  # the field answered; None for a card, "choice" for a choice
    options: list[dict] = dc_field(default_factory=list)  # choice: [{"code", "title"}] for buttons


# -- one field ---------------------------------------------------------------------------------------
def field_text(rec: ProcedureRecord, secs: dict[str, str], field: str, tail: list[str],
                limit: int = MAX_BODY, online: bool = False, brief: bool = False) -> tuple[str, dict] | None:
    """`online`: the citizen asked about doing it online (steps then follow the online case); `brief`: other
    fields are asked too."""
    name = short_name(rec)
    if field == "papers":
        return papers_text(rec, name, tail, limit)
    if field == "steps":
        return steps_text(rec, name, secs, tail, limit, online)
    if field == "conditions":
        return conditions_text(rec, name, secs, tail, limit)
    if field == "result":
        return result_text(rec, name, secs, tail, limit)
    if field == "online":
        lines, facts = online_lines(rec, name, secs, brief)
        return finish(lines, tail, limit), facts
    build = {"fee": fee_lines, "time": lambda r, n: time_lines(r, n, secs), "where": lambda r, n: where_lines(r, n, secs),
             "who": who_lines}.get(field)
    if build is None:
        return None
    lines, facts = build(rec, name)
    text = finish(lines, tail, limit)
    if field == "fee" and any(ln.startswith(FEE_NOTE) for ln in lines) and FEE_NOTE not in text:
        # no room for the fee's own notes (another field came first): never a figure without saying it has notes
        text = finish([lines[0] + " Mức phí có ghi chú trên Cổng, hãy xem trước khi nộp."], tail, limit) or text
    return text, facts


# -- record access ----------------------------------------------------------------------------------
def _view(item) -> tuple[ProcedureRecord, dict[str, str]]:
    """A ProcedureMatch, a Document or a ProcedureRecord → (record, body sections by heading)."""
    doc = getattr(item, "doc", None) if not isinstance(item, (Document, ProcedureRecord)) else None
    doc = doc or (item if isinstance(item, Document) else None)
    if doc is not None:
        return procedure_fields(doc), sections(doc.body)
    record = getattr(item, "record", item)
    return record, {}


def citation(rec: ProcedureRecord, section: str, text: str, n: int = 1) -> Citation:
    return Citation(n=n, doc_id=rec.code, title=f"{rec.title} (mã {rec.code})", section=section, source=rec.source,
                    text=text, score=1.0, date=rec.crawled)


def source_line(rec: ProcedureRecord, n: int = 1) -> str:
    line = f"[{n}] {rec.title} (mã {rec.code}) — cập nhật theo {PORTAL}, {crawl_month(rec)}"
    return f"{line}: {rec.source}" if rec.source else line


RE_RENAMED = re.compile(r"đã bỏ|không còn|nay là|nay gọi|đổi tên", re.I)


def _renamed(item) -> list[str]:
    """Lexicon notes that tell the citizen a paper was abolished or renamed ("Sổ hộ khẩu đã bỏ từ …"),
    when the match came through that colloquial name. Other notes are for officers."""
    notes = [e.note for e in getattr(item, "via", None) or [] if RE_RENAMED.search(e.note)]
    return [f"Ghi chú: {cut(n, 200)}" for n in dict.fromkeys(notes)][:1]


def _period(text: str) -> str:
    return text if text.endswith(("…", ".")) else text + "."


def _warnings(rec: ProcedureRecord) -> list[str]:
    out = []
    if rec.district_era:
        out.append(DISTRICT_WARNING)
    if rec.status == "withdrawn":
        out.append(WITHDRAWN_WARNING)
    return out


def compose_field(item, field: str) -> ProcedureAnswer:
    """One field of one procedure (item: ProcedureMatch, Document or ProcedureRecord)."""
    return compose_fields(item, [field])


def compose_fields(item, fields: list[str]) -> ProcedureAnswer:
    """Several fields asked at once ("cần giấy tờ gì, mất mấy ngày"), in the order asked, within one body;
    a field that no longer fits is left out rather than cut (the first one always fits)."""
    rec, secs = _view(item)
    tail = _renamed(item) + _warnings(rec)
    fields = [f for f in dict.fromkeys(fields) if f in FIELD_LABELS]
    if not fields:
        return compose_card(item)
    parts: list[str] = []
    facts: dict = {"code": rec.code, "title": rec.title}
    room = MAX_BODY - sum(len(t) + 1 for t in tail)
    for i, field in enumerate(fields):
        budget = room - sum(len(p) + 1 for p in parts)
        text, part_facts = field_text(rec, secs, field, [], budget, online="online" in fields, brief=len(fields) > 1)
        if i and len(text) + 1 > budget:
            continue
        parts.append(text)
        facts.update(part_facts)
    text = finish(parts, tail)
    label = ", ".join(FIELD_LABELS[f] for f in fields)
    return ProcedureAnswer(text, facts, [citation(rec, label, text)], [source_line(rec)],
                           fields[0] if len(fields) == 1 else ",".join(fields))


def compose_card(item) -> ProcedureAnswer:
    """Where, time, fee, three main papers, online or not (with the portal link)."""
    rec, _ = _view(item)
    tail = _renamed(item) + _warnings(rec)
    title = short_name(rec, 70)
    agency = f"; cơ quan thực hiện: {cut(rec.agency, 60)}" if rec.agency else ""
    lines = [f"{title[0].upper()}{title[1:]} (mã {rec.code})", _period("- " + where_text(rec) + agency)]
    chans = sorted_channels(rec)
    times = [(c.time, c.channel) for c in chans if c.time]
    if times:
        unit = " (Cổng không ghi đơn vị)" if any(c.time_unit_missing for c in chans if c.time) else ""
        lines.append(f"- Thời hạn: {grouped(times)}{unit}.")
    if chans:
        fee = grouped([(fee_value(c) or "không ghi", c.channel) for c in chans])
        if any(c.fee_set_by_province for c in chans):
            fee += " (mức cụ thể do HĐND tỉnh quyết định)"
        elif any(c.fee_note and not unit_note(c) for c in chans):
            fee += " (xem ghi chú lệ phí trên Cổng)"
        lines.append(f"- Lệ phí: {fee}.")
    cases = paper_cases(rec)
    main = [p for p in cases[0][1] if not conditional(p)][:3] if cases else []
    if main:
        more = sum(len(g) for _, g in cases) - len(main)
        names = [paper_text(Paper(p.name, p.form), 48)[2:] for p in main]
        lines.append("- Giấy tờ chính: " + "; ".join(names) + (f"; và {more} giấy tờ khác." if more > 0 else "."))
    text = finish(lines, ["- " + online_text(rec), *tail], skip=True)
    facts = {"code": rec.code, "title": rec.title, "levels": rec.levels, "online": rec.online,
             "times": times, "fees": [(c.channel, c.fee, c.fee_note) for c in chans],
             "papers": [p.name for p in main]}
    return ProcedureAnswer(text, facts, [citation(rec, CARD_SECTION, text)], [source_line(rec)], None)


def with_sibling(reply: ProcedureAnswer, item) -> ProcedureAnswer:
    """Name the same service's other channel (fully online, or in person) as source [2]: a citizen told about
    one need not search the portal for the other."""
    sib, _ = _view(item)
    if RE_FULL_ONLINE.search(sib.title):
        line = f"Có thể làm trực tuyến toàn trình trên {PORTAL} (thủ tục mã {sib.code}) [2]."
    else:
        line = f"Nộp trực tiếp hoặc trực tuyến một phần: thủ tục mã {sib.code} [2]."
    return ProcedureAnswer(f"{reply.text}\n{line}", {**reply.facts, "sibling": sib.code},
                           [*reply.citations, citation(sib, CARD_SECTION, sib.title, 2)],
                           [*reply.sources, source_line(sib, 2)], reply.field, reply.options)


def compose_choice(matches: list) -> ProcedureAnswer:
    """"Có vài thủ tục gần với câu hỏi: 1) … 2) … Bạn hỏi thủ tục nào?" plus the options as data (buttons)."""
    recs = [_view(m)[0] for m in matches[:3]]
    items = [f"{i}) {cut(r.title, 120)} ({', '.join(lv.lower() for lv in r.levels) or 'không ghi cấp'}, mã {r.code})"
             for i, r in enumerate(recs, 1)]
    text = finish(["Có vài thủ tục gần với câu hỏi:", *items], ["Bạn hỏi thủ tục nào?"])
    options = [{"code": r.code, "title": cut(r.title, 60)} for r in recs]
    cites = [citation(r, CARD_SECTION, r.title, n) for n, r in enumerate(recs, 1)]
    return ProcedureAnswer(text, {"codes": [r.code for r in recs]}, cites,
                           [source_line(r, n) for n, r in enumerate(recs, 1)], "choice", options)
