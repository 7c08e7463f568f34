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

from bot.procedures import RE_LEVEL_SUFFIX
from bot.types import Citation
from index.chunk import CARD_SECTION, display_date
from index.procedure_record import Channel, Paper, ProcedureRecord, procedure_fields
from index.types import Document

MAX_BODY = 600
PORTAL = "Cổng DVCQG"
PORTAL_FULL = "Cổng Dịch vụ công quốc gia"
FIELD_LABELS = {
    "fee": "Lệ phí", "time": "Thời hạn giải quyết", "papers": "Giấy tờ cần nộp", "where": "Nơi thực hiện",
    "steps": "Các bước thực hiện", "conditions": "Yêu cầu, điều kiện", "online": "Nộp trực tuyến",
    "who": "Đối tượng thực hiện", "result": "Kết quả",
}
CHANNEL_ORDER = ("Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính")
CHANNEL_PHRASE = {"Trực tiếp": "nộp trực tiếp", "Trực tuyến": "nộp trực tuyến", "Dịch vụ bưu chính": "qua bưu chính"}
LEVEL_PLACE = {
    "Cấp xã": "cấp xã (Trung tâm phục vụ hành chính công / UBND cấp xã)",
    "Cấp tỉnh": "cấp tỉnh",
    "Cấp bộ": "cấp bộ (cơ quan trung ương)",
    "Cơ quan khác": "cơ quan khác",
}
DISTRICT_WARNING = ("Lưu ý: trang trên Cổng còn nhắc cấp huyện (đã bỏ từ 01/7/2025, nay do xã/phường hoặc tỉnh "
                    "giải quyết); hãy hỏi Trung tâm phục vụ hành chính công xã/phường.")
WITHDRAWN_WARNING = "Lưu ý: thủ tục này không còn trên Cổng ở lần cập nhật gần nhất; hãy hỏi lại nơi nộp hồ sơ."
NO_INFO = re.compile(r"^\s*(không có thông tin|không|không có)\s*\.?\s*$", re.I)
RE_MONEY = re.compile(r"\d[\d.,]*\s*(?:đồng|đ\b|vnđ|usd)", re.I)
RE_STEP = re.compile(r"^(?:-\s+|bước\s*\d+\s*[:.)-]\s*|\d+[.)]\s+)", re.I)


@dataclass
class ProcedureAnswer:
    text: str  # the body (≤ 600 characters), no sources
    facts: dict  # the structured values the text states (for tests, eval and the console's "why")
    citations: list[Citation] = dc_field(default_factory=list)
    sources: list[str] = dc_field(default_factory=list)  # "[1] name (mã …) — cập nhật theo Cổng DVCQG, …: url"
    field: str | None = None  # the field answered; None for a card, "choice" for a choice
    options: list[dict] = dc_field(default_factory=list)  # choice: [{"code", "title"}] for buttons


# -- record access ----------------------------------------------------------------------------------
def _view(item) -> tuple[ProcedureRecord, dict[str, str]]:
    """A ProcedureMatch, a Document or a ProcedureRecord → (record, body sections by heading)."""
    doc = getattr(item, "doc", None) if not isinstance(item, (Document, ProcedureRecord)) else None
    doc = doc or (item if isinstance(item, Document) else None)
    if doc is not None:
        return procedure_fields(doc), sections(doc.body)
    record = getattr(item, "record", item)
    return record, {}


def sections(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = None
    for line in body.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return {k: v.strip() for k, v in out.items()}


def short_name(rec: ProcedureRecord, limit: int = 90) -> str:
    """"Thủ tục đăng ký khai sinh" → "đăng ký khai sinh"; long names end at a word with "…"."""
    name = RE_LEVEL_SUFFIX.sub("", re.sub(r"^thủ tục\s+", "", rec.title.strip(), flags=re.I)).rstrip(" .")
    if len(name) > 1 and not name[1].isupper():
        name = name[0].lower() + name[1:]
    return _cut(name, limit)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:(- ")
    if cut.count("(") > cut.count(")") and cut.rfind("(") >= 20:  # never leave a parenthesis open
        cut = cut[:cut.rfind("(")].rstrip(",;: ")
    return cut + "…"


def _sentence(text: str, limit: int) -> str:
    """The first sentence (or clause before ';'), cut at a word if still too long."""
    text = " ".join(text.split())
    m = re.search(r"(?<=[.;])\s", text)
    if m and m.start() >= 20:
        text = text[:m.start()].rstrip(";")
    return _cut(text, limit)


def crawl_month(rec: ProcedureRecord) -> str:
    return display_date(rec.crawled) or "không rõ tháng"


def citation(rec: ProcedureRecord, section: str, text: str, n: int = 1) -> Citation:
    return Citation(n=n, doc_id=rec.code, title=f"{rec.title} (mã {rec.code})", section=section, source=rec.source,
                    text=text, score=1.0, date=rec.crawled)


def source_line(rec: ProcedureRecord, n: int = 1) -> str:
    line = f"[{n}] {rec.title} (mã {rec.code}) — cập nhật theo {PORTAL}, {crawl_month(rec)}"
    return f"{line}: {rec.source}" if rec.source else line


# -- fitting ----------------------------------------------------------------------------------------
def _finish(lines: list[str], tail: list[str], limit: int = MAX_BODY, skip: bool = False) -> str:
    """Lines in order while they fit (skip=True: leave out a line that does not fit and try the next),
    then the mandatory tail (warnings); never ends on "như sau:"."""
    budget = limit - sum(len(t) + 1 for t in tail)
    out: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            if skip:
                continue
            break
        out.append(line)
        used += len(line) + 1
    text = "\n".join(out + tail).strip()
    text = re.sub(r"\s*(như sau|sau đây|gồm)\s*:\s*$", ".", text, flags=re.I)
    return text.rstrip(":").strip()


def _items(head: str, items: list[str], tail: list[str], noun: str, limit: int = MAX_BODY) -> str:
    """A heading line and as many whole items as fit, then "và N <noun> khác". Items ending in ":" are
    group headings: not counted, never left last without an item under them."""
    budget = limit - sum(len(t) + 1 for t in tail) - len(head) - 1
    total = sum(1 for i in items if not i.endswith(":"))
    shown: list[str] = []
    used = 0
    for item in items:
        rest = total - sum(1 for s in shown if not s.endswith(":")) - (0 if item.endswith(":") else 1)
        more = len(f"và {rest} {noun} khác (xem trên {PORTAL}).") + 1 if rest else 0
        if used + len(item) + 1 + more > budget:
            break
        shown.append(item)
        used += len(item) + 1
    while shown and shown[-1].endswith(":"):
        shown.pop()
    left = total - sum(1 for s in shown if not s.endswith(":"))
    lines = [head, *shown]
    if left:
        lines.append(f"và {left} {noun} khác (xem trên {PORTAL}).")
    return _finish(lines, tail, limit)


RE_RENAMED = re.compile(r"đã bỏ|không còn|nay là|nay gọi|đổi tên", re.I)


def _renamed(item) -> list[str]:
    """Lexicon notes that tell the citizen a paper was abolished or renamed ("Sổ hộ khẩu đã bỏ từ …"),
    when the match came through that colloquial name. Other notes are for officers."""
    notes = [e.note for e in getattr(item, "via", None) or [] if RE_RENAMED.search(e.note)]
    return [f"Ghi chú: {_cut(n, 200)}" for n in dict.fromkeys(notes)][:1]


def _warnings(rec: ProcedureRecord) -> list[str]:
    out = []
    if rec.district_era:
        out.append(DISTRICT_WARNING)
    if rec.status == "withdrawn":
        out.append(WITHDRAWN_WARNING)
    return out


def _channels(rec: ProcedureRecord) -> list[Channel]:
    order = {c: i for i, c in enumerate(CHANNEL_ORDER)}
    return sorted(rec.channels, key=lambda c: order.get(c.channel, len(order)))


def _grouped(pairs: list[tuple[str, str]]) -> str:
    """[(value, channel)] → "20.000 đồng nộp trực tiếp, 10.000 đồng nộp trực tuyến" (one value: just it)."""
    groups: dict[str, list[str]] = {}
    for value, channel in pairs:
        groups.setdefault(value, []).append(CHANNEL_PHRASE.get(channel, channel.lower()))
    if len(groups) == 1:
        return next(iter(groups))
    return ", ".join(f"{value} {' và '.join(chs)}" for value, chs in groups.items())


# -- fields -----------------------------------------------------------------------------------------
def _unit_note(c: Channel) -> bool:
    """A note that is only the unit of the figure ("/trang", "/bản")."""
    return bool(c.fee_note and re.fullmatch(r"/\s*[\w ]{1,15}", c.fee_note.strip()))


def _fee_value(c: Channel) -> str | None:
    if not c.fee:
        return None
    if c.fee == "Miễn phí":
        return "miễn phí"
    return c.fee + ("".join(c.fee_note.split()) if _unit_note(c) else "")


def _fee(rec: ProcedureRecord, name: str) -> tuple[list[str], dict]:
    chans = _channels(rec)
    if not chans:
        return [f"{PORTAL} không ghi lệ phí của thủ tục {name}."], {"fees": []}
    shown = [(_fee_value(c) or f"{PORTAL} không ghi mức", c.channel) for c in chans]
    lines = [f"Lệ phí {name}: {_grouped(shown)}."]
    if any(c.fee_set_by_province for c in chans):
        lines.append("Mức cụ thể do HĐND tỉnh quyết định (theo nghị quyết của tỉnh, thành phố nơi nộp hồ sơ).")
    differs = any(c.fee_note_differs or (c.fee == "Miễn phí" and c.fee_note and RE_MONEY.search(c.fee_note))
                  for c in chans)
    if differs:
        lines.append("Số tiền trên Cổng khác với ghi chú của chính nó; hãy tin ghi chú và hỏi lại nơi nộp hồ sơ.")
    notes: list[str] = []
    for c in chans:
        for note in (c.fee_note if not _unit_note(c) else None,
                     c.description if c.description and RE_MONEY.search(c.description) else None):
            if note and note not in notes:
                notes.append(note)
    for note in notes:
        lines.append(f"Ghi chú trên Cổng: {_cut(note, 220)}")
    return lines, {"fees": [(c.channel, c.fee, c.fee_note) for c in chans]}


def _time(rec: ProcedureRecord, name: str) -> tuple[list[str], dict]:
    chans = _channels(rec)
    known = [c for c in chans if c.time]
    if not known:
        return [f"{PORTAL} không ghi thời hạn giải quyết thủ tục {name}; hãy hỏi nơi nộp hồ sơ."], {"times": []}
    lines = [f"Thời hạn giải quyết {name}: {_grouped([(c.time, c.channel) for c in known])}."]
    if any(c.time_unit_missing for c in known):
        lines.append(f"{PORTAL} chỉ ghi con số, không ghi đơn vị thời gian (ngày hay giờ); hãy hỏi Trung tâm "
                     "phục vụ hành chính công nơi nộp hồ sơ để biết chính xác.")
    return lines, {"times": [(c.channel, c.time, c.time_unit_missing) for c in known]}


def paper_text(p: Paper, limit: int = 80) -> str:
    """'Tờ khai thay đổi thông tin cư trú (Mẫu CT01), 1 bản chính' — name to its first clause."""
    name = " ".join(p.name.split())
    for stop in (";", " ban hành kèm", ". "):
        i = name.find(stop)
        if i >= 25:
            name = name[:i]
    if name.count("(") > name.count(")"):  # a clause cut inside its parenthesis: drop the open part
        i = name.rfind("(")
        name = name[:i] if i >= 25 else name + ")"
    name = _cut(name.rstrip(" .;,"), limit)
    if p.form and p.form.lower() not in name.lower():
        name += f" ({p.form})"
    return f"- {name}" + (f", {p.copies}" if p.copies else "")


def _conditional(p: Paper) -> int:
    """Papers needed only in some cases come after the main ones: 2 for "Trường hợp …", 1 for "… nếu có"."""
    if re.match(r"\s*[-+]?\s*(trường hợp|đối với|nếu|ví dụ|lưu ý)", p.name, re.I):
        return 2
    return int(bool(re.search(r"trong trường hợp|nếu có|\(nếu", p.name, re.I)))


def _cases(rec: ProcedureRecord) -> list[tuple[str | None, list[Paper]]]:
    """Papers by case, the general case first and its main papers before conditional ones."""
    papers = [p for p in rec.papers if p.name.strip()]
    cases: list[str | None] = []
    for p in papers:
        if p.case not in cases:
            cases.append(p.case)
    cases.sort(key=lambda c: bool(c and re.match(r"\s*(trường hợp|đối với|nếu)", c, re.I)))
    return [(c, sorted((p for p in papers if p.case == c), key=_conditional)) for c in cases]


def _papers(rec: ProcedureRecord, name: str, tail: list[str], limit: int = MAX_BODY) -> tuple[str, dict]:
    cases = _cases(rec)
    if not cases:
        return _finish([f"{PORTAL} không liệt kê thành phần hồ sơ của thủ tục {name}."], tail, limit), {"papers": []}
    items: list[str] = []
    for case, group in cases:
        if len(cases) > 1 and case:
            items.append(f"{_cut(case.rstrip(':'), 100)}:")
        items.extend(paper_text(p) for p in group)
    head = f"Giấy tờ cần nộp để {name}:" if len(cases) == 1 else f"Giấy tờ cần nộp để {name}, theo từng trường hợp:"
    text = _items(head, items, tail, "mục", limit)
    return text, {"papers": [p.name for _, g in cases for p in g], "cases": [c for c, _ in cases if c]}


def where_text(rec: ProcedureRecord) -> str:
    places = [LEVEL_PLACE.get(lv, lv.lower()) for lv in rec.levels]
    return "Thực hiện ở " + (", ".join(places) if places else "cơ quan có thẩm quyền (Cổng không ghi cấp)")


def _where(rec: ProcedureRecord, name: str) -> tuple[list[str], dict]:
    lines = [f"{name[0].upper()}{name[1:]}: " + where_text(rec)[0].lower() + where_text(rec)[1:] + "."]
    if rec.agency:
        lines.append(f"Cơ quan thực hiện: {_cut(rec.agency, 160)}.")
    if rec.receiving_address:
        lines.append(f"Địa chỉ tiếp nhận: {_cut(rec.receiving_address, 160)}.")
    if rec.online:
        lines.append(f"Có thể nộp trực tuyến tại {PORTAL_FULL}: {rec.source}")
    return lines, {"levels": rec.levels, "agency": rec.agency}


def online_text(rec: ProcedureRecord) -> str:
    if rec.online:
        return f"Có thể nộp trực tuyến tại {PORTAL_FULL}: {rec.source}"
    other = [CHANNEL_PHRASE[c.channel] for c in _channels(rec) if c.channel in CHANNEL_PHRASE]
    how = " hoặc ".join(dict.fromkeys(other)) or "trực tiếp"
    return f"Theo {PORTAL}, thủ tục này chưa nộp trực tuyến được; {how} tại nơi tiếp nhận hồ sơ."


def _online(rec: ProcedureRecord, name: str) -> tuple[list[str], dict]:
    lines = [f"{name[0].upper()}{name[1:]}: " + online_text(rec)[0].lower() + online_text(rec)[1:]]
    others = [CHANNEL_PHRASE[c.channel] for c in _channels(rec) if c.channel in ("Trực tiếp", "Dịch vụ bưu chính")]
    if rec.online and others:
        lines.append("Ngoài ra có thể " + " hoặc ".join(dict.fromkeys(others)) + ".")
    return lines, {"online": rec.online}


def _steps(rec: ProcedureRecord, name: str, secs: dict[str, str], tail: list[str],
           limit: int = MAX_BODY) -> tuple[str, dict]:
    raw = secs.get("Trình tự thực hiện", "")
    raw = re.split(r"\n\s*\*?\s*Lưu ý", raw)[0]
    lines = [ln.strip() for ln in raw.splitlines()]
    numbered = [ln for ln in lines if re.match(r"bước\s*\d", ln, re.I)]  # "Bước 1: …" when the page has them
    steps = [_sentence(RE_STEP.sub("", ln), 110) for ln in (numbered or [ln for ln in lines if RE_STEP.match(ln)])]
    steps = [s for s in steps if len(s) > 10 and not s.endswith(":")]
    if not steps:  # free text: its lines, minus sub-headings ("a) Trách nhiệm người khai:")
        plain = [RE_STEP.sub("", re.sub(r"^[a-zđ]\)\s*", "", ln)) for ln in lines if ln and not NO_INFO.match(ln)]
        steps = [_sentence(ln, 160) for ln in plain if not ln.endswith(":") and len(ln) > 10]
    if not steps:
        return _finish([f"{PORTAL} không ghi trình tự thực hiện thủ tục {name}."], tail, limit), {"steps": []}
    items = [f"{i}) {s}" for i, s in enumerate(steps, 1)]
    return _items(f"Các bước {name}:", items, tail, "bước", limit), {"steps": steps}


def _conditions(rec: ProcedureRecord, name: str, secs: dict[str, str], tail: list[str],
                limit: int = MAX_BODY) -> tuple[str, dict]:
    raw = secs.get("Yêu cầu, điều kiện", "").strip()
    if not raw or NO_INFO.match(raw):
        text = _finish([f"{PORTAL} không nêu yêu cầu, điều kiện riêng cho thủ tục {name}."], tail, limit)
        return text, {"conditions": None}
    lines = [_sentence(RE_STEP.sub("", ln.strip(" +*")), 200) for ln in raw.splitlines() if ln.strip()]
    lines = [ln for ln in lines if ln and not NO_INFO.match(ln)]
    return _items(f"Yêu cầu, điều kiện để {name}:", [f"- {ln}" for ln in lines], tail, "ý", limit), {"conditions": raw}


def _who(rec: ProcedureRecord, name: str) -> tuple[list[str], dict]:
    if not rec.applicants:
        return [f"{PORTAL} không ghi đối tượng thực hiện thủ tục {name}."], {"applicants": None}
    return [f"Đối tượng thực hiện {name}: {_cut(rec.applicants, 300)}."], {"applicants": rec.applicants}


def _result(rec: ProcedureRecord, name: str, secs: dict[str, str], tail: list[str],
            limit: int = MAX_BODY) -> tuple[str, dict]:
    raw = secs.get("Kết quả", "")
    items = [ln.strip().lstrip("-+ ").strip() for ln in raw.splitlines() if ln.strip() and not NO_INFO.match(ln)]
    if not items:
        return _finish([f"{PORTAL} không ghi kết quả của thủ tục {name}."], tail, limit), {"results": []}
    return _items(f"Kết quả {name}:", [f"- {_cut(i, 150)}" for i in items], tail, "kết quả", limit), {"results": items}


def _field_text(rec: ProcedureRecord, secs: dict[str, str], field: str, tail: list[str],
                limit: int = MAX_BODY) -> tuple[str, dict] | None:
    name = short_name(rec)
    if field == "papers":
        return _papers(rec, name, tail, limit)
    if field == "steps":
        return _steps(rec, name, secs, tail, limit)
    if field == "conditions":
        return _conditions(rec, name, secs, tail, limit)
    if field == "result":
        return _result(rec, name, secs, tail, limit)
    build = {"fee": _fee, "time": _time, "where": _where, "online": _online, "who": _who}.get(field)
    if build is None:
        return None
    lines, facts = build(rec, name)
    return _finish(lines, tail, limit), facts


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
        text, part_facts = _field_text(rec, secs, field, [], budget)
        if i and len(text) + 1 > budget:
            continue
        parts.append(text)
        facts.update(part_facts)
    text = _finish(parts, tail)
    label = ", ".join(FIELD_LABELS[f] for f in fields)
    return ProcedureAnswer(text, facts, [citation(rec, label, text)], [source_line(rec)],
                           fields[0] if len(fields) == 1 else ",".join(fields))


def compose_card(item) -> ProcedureAnswer:
    """Where, time, fee, three main papers, online or not (with the portal link)."""
    rec, _ = _view(item)
    tail = _renamed(item) + _warnings(rec)
    title = _cut(re.sub(r"^thủ tục\s+", "", rec.title.strip(), flags=re.I), 70)
    lines = [f"{title[0].upper()}{title[1:]} (mã {rec.code})", "- " + where_text(rec) + "."]
    chans = _channels(rec)
    times = [(c.time, c.channel) for c in chans if c.time]
    if times:
        unit = " (Cổng không ghi đơn vị)" if any(c.time_unit_missing for c in chans if c.time) else ""
        lines.append(f"- Thời hạn: {_grouped(times)}{unit}.")
    if chans:
        fee = _grouped([(_fee_value(c) or "không ghi", c.channel) for c in chans])
        if any(c.fee_set_by_province for c in chans):
            fee += " (mức cụ thể do HĐND tỉnh quyết định)"
        elif any(c.fee_note and not _unit_note(c) for c in chans):
            fee += " (xem ghi chú lệ phí trên Cổng)"
        lines.append(f"- Lệ phí: {fee}.")
    cases = _cases(rec)
    main = [p for p in cases[0][1] if not _conditional(p)][:3] if cases else []
    if main:
        more = sum(len(g) for _, g in cases) - len(main)
        names = [paper_text(Paper(p.name, p.form), 60)[2:] for p in main]
        lines.append("- Giấy tờ chính: " + "; ".join(names) + (f"; và {more} giấy tờ khác." if more > 0 else "."))
    text = _finish(lines, ["- " + online_text(rec), *tail], skip=True)
    facts = {"code": rec.code, "title": rec.title, "levels": rec.levels, "online": rec.online,
             "times": times, "fees": [(c.channel, c.fee, c.fee_note) for c in chans],
             "papers": [p.name for p in main]}
    return ProcedureAnswer(text, facts, [citation(rec, CARD_SECTION, text)], [source_line(rec)], None)


def compose_choice(matches: list) -> ProcedureAnswer:
    """"Có vài thủ tục gần với câu hỏi: 1) … 2) … Bạn hỏi thủ tục nào?" plus the options as data (buttons)."""
    recs = [_view(m)[0] for m in matches[:3]]
    items = [f"{i}) {_cut(r.title, 120)} ({', '.join(lv.lower() for lv in r.levels) or 'không ghi cấp'}, mã {r.code})"
             for i, r in enumerate(recs, 1)]
    text = _finish(["Có vài thủ tục gần với câu hỏi:", *items], ["Bạn hỏi thủ tục nào?"])
    options = [{"code": r.code, "title": _cut(r.title, 60)} for r in recs]
    cites = [citation(r, CARD_SECTION, r.title, n) for n, r in enumerate(recs, 1)]
    return ProcedureAnswer(text, {"codes": [r.code for r in recs]}, cites,
                           [source_line(r, n) for n, r in enumerate(recs, 1)], "choice", options)
