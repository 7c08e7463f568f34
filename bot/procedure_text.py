"""The sentences of procedure answers: fee, time, papers, where, who and result, extractive from the record
(steps, conditions and the online way are in `procedure_steps`; `procedure_compose.field_text` picks the builder).

Each builder states only what the record says, and says plainly what it lacks ("Cổng DVCQG không ghi …").
`finish` and `items_text` fit the result to a phone-sized body without cutting an item in half.
"""
from __future__ import annotations

import re

from bot.procedure_names import RE_LEVEL_SUFFIX, RE_NAME_BOILERPLATE
from index.chunk import display_date
from index.procedure_record import Channel, Paper, ProcedureRecord
from index.vietnamese import fold, nfc

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
    """"Thủ tục đăng ký khai sinh" → "đăng ký khai sinh"; long names end at a word with "…". How and at which
    level it is filed ("… bằng dịch vụ công trực tuyến toàn trình") is left to the where/online lines."""
    name = RE_LEVEL_SUFFIX.sub("", re.sub(r"^thủ tục\s+", "", rec.title.strip(), flags=re.I))
    name = " ".join(RE_NAME_BOILERPLATE.sub(" ", name).split()).rstrip(" .,") or rec.title  # how it is filed: said apart
    if len(name) > 1 and not name[1].isupper():
        name = name[0].lower() + name[1:]
    return cut(name, limit)


def cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:(- ")
    if cut.count("(") > cut.count(")") and cut.rfind("(") >= 20:  # never leave a parenthesis open
        cut = cut[:cut.rfind("(")].rstrip(",;: ")
    return cut + "…"


def sentence(text: str, limit: int) -> str:
    """The first sentence (or clause before ';'), cut at a word if still too long."""
    text = " ".join(text.split())
    m = re.search(r"(?<=[.;])\s", text)
    if m and m.start() >= 20:
        text = text[:m.start()].rstrip(";")
    return cut(text, limit)


def crawl_month(rec: ProcedureRecord) -> str:
    return display_date(rec.crawled) or "không rõ tháng"


# -- fitting ----------------------------------------------------------------------------------------
def finish(lines: list[str], tail: list[str], limit: int = MAX_BODY, skip: bool = False) -> str:
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
    text = nfc("\n".join(out + tail).strip())  # a few portal pages spell marks decomposed
    text = re.sub(r"\s*(như sau|sau đây|gồm)\s*:\s*$", ".", text, flags=re.I)
    return text.rstrip(":").strip()


def items_text(head: str, items: list[str], tail: list[str], noun: str, limit: int = MAX_BODY) -> str:
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
    return finish(lines, tail, limit)


def sorted_channels(rec: ProcedureRecord) -> list[Channel]:
    order = {c: i for i, c in enumerate(CHANNEL_ORDER)}
    return sorted(rec.channels, key=lambda c: order.get(c.channel, len(order)))


def grouped(pairs: list[tuple[str, str]]) -> str:
    """[(value, channel)] → "20.000 đồng nộp trực tiếp, 10.000 đồng nộp trực tuyến" (one value: just it)."""
    groups: dict[str, list[str]] = {}
    for value, channel in pairs:
        groups.setdefault(value, []).append(CHANNEL_PHRASE.get(channel, channel.lower()))
    if len(groups) == 1:
        return next(iter(groups))
    return ", ".join(f"{value} {' và '.join(chs)}" for value, chs in groups.items())


# -- fields -----------------------------------------------------------------------------------------
def unit_note(c: Channel) -> bool:
    """A note that is only the unit of the figure ("/trang", "/bản")."""
    return bool(c.fee_note and re.fullmatch(r"/\s*[\w ]{1,15}", c.fee_note.strip()))


def fee_value(c: Channel) -> str | None:
    if not c.fee:
        return None
    if c.fee == "Miễn phí":
        return "miễn phí"
    return c.fee + ("".join(c.fee_note.split()) if unit_note(c) else "")


FEE_NOTE = "Ghi chú trên Cổng"


def fee_lines(rec: ProcedureRecord, name: str) -> tuple[list[str], dict]:
    chans = sorted_channels(rec)
    if not chans:
        return [f"{PORTAL} không ghi lệ phí của thủ tục {name}."], {"fees": []}
    shown = [(fee_value(c) or f"{PORTAL} không ghi mức", c.channel) for c in chans]
    lines = [f"Lệ phí {name}: {grouped(shown)}."]
    if any(c.fee_set_by_province for c in chans):
        lines.append("Mức cụ thể do HĐND tỉnh quyết định (theo nghị quyết của tỉnh, thành phố nơi nộp hồ sơ).")
    differs = any(c.fee_note_differs or (c.fee == "Miễn phí" and c.fee_note and RE_MONEY.search(c.fee_note))
                  for c in chans)
    if differs:
        lines.append("Số tiền trên Cổng khác với ghi chú của chính nó; hãy tin ghi chú và hỏi lại nơi nộp hồ sơ.")
    notes: list[str] = []
    for c in chans:
        for note in (c.fee_note if not unit_note(c) else None,
                     c.description if c.description and RE_MONEY.search(c.description) else None):
            if note and note not in notes:
                notes.append(note)
    for note in notes:
        lines.append(f"{FEE_NOTE}: {cut(note, 220)}")
    return lines, {"fees": [(c.channel, c.fee, c.fee_note) for c in chans]}


# "Cơ quan đăng ký kinh doanh cấp xã … trong thời hạn 03 ngày làm việc": a processing time the steps state when the
# channel table gives none (47 of the 122 records without one)
RE_STEP_TIME = re.compile(r"\b\d+\s*ngày làm việc|trong (?:thời hạn|vòng)\s+\d+\s*(?:ngày|giờ)", re.I)


def step_time(secs: dict[str, str]) -> str | None:
    """The first sentence of the steps (else the result) that states a time in days or hours."""
    for heading in ("Trình tự thực hiện", "Kết quả"):
        for line in secs.get(heading, "").splitlines():
            text = " ".join(line.lstrip("-+*• ").split())
            m = RE_STEP_TIME.search(text)
            if m:
                before = max(text.rfind(". ", 0, m.start()), text.rfind("; ", 0, m.start()))
                start = before + 2 if before >= 0 else 0
                end = min([i for i in (text.find(". ", m.end()), text.find("; ", m.end())) if i > 0] or [len(text)])
                return cut(text[start:end].rstrip(" .;"), 260)
    return None


def time_lines(rec: ProcedureRecord, name: str, secs: dict[str, str] | None = None) -> tuple[list[str], dict]:
    chans = sorted_channels(rec)
    known = [c for c in chans if c.time]
    if not known:
        stated = step_time(secs or {})
        if stated:
            return [f"{PORTAL} không ghi thời hạn ở phần cách thức thực hiện {name}; trình tự thực hiện ghi: "
                    f"“{stated}”."], {"times": [], "step_time": stated}
        return [f"{PORTAL} không ghi thời hạn giải quyết thủ tục {name}; hãy hỏi nơi nộp hồ sơ."], {"times": []}
    lines = [f"Thời hạn giải quyết {name}: {grouped([(c.time, c.channel) for c in known])}."]
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
    name = cut(name.rstrip(" .;,"), limit)
    if p.form and p.form.lower() not in name.lower():
        name += f" ({p.form})"
    return f"- {name}" + (f", {p.copies}" if p.copies else "")


# A "nếu" that names only how the papers are filed (in person, online, by post) applies to everyone filing that way.
RE_CHANNEL_CASE = re.compile(r"\(nếu[^()]*(?:hình thức|nộp|gửi)[^()]*(?:trực tiếp|trực tuyến|bưu chính)[^()]*\)", re.I)


def conditional(p: Paper) -> int:
    """Papers needed only in some cases come after the main ones: 2 for "Trường hợp …", 1 for "… nếu có"."""
    if re.match(r"\s*[-+]?\s*(trường hợp|đối với|nếu|ví dụ|lưu ý)", p.name, re.I):
        return 2
    if RE_CHANNEL_CASE.search(p.name):  # "Tờ khai … (nếu … nộp hồ sơ theo hình thức trực tiếp …)": everyone's form
        return 0
    return int(bool(re.search(r"trong trường hợp|nếu có|\(nếu", p.name, re.I)))


def paper_cases(rec: ProcedureRecord) -> list[tuple[str | None, list[Paper]]]:
    """Papers by case, the general case first and its main papers before conditional ones."""
    papers = [p for p in rec.papers if p.name.strip()]
    cases: list[str | None] = []
    for p in papers:
        if p.case not in cases:
            cases.append(p.case)
    groups = {c: sorted((p for p in papers if p.case == c), key=lambda p: (conditional(p), not is_form(p)))
              for c in cases}
    # The general case first, notes ("Lưu ý") last; papers to hand in before those only shown ("xuất trình"); of
    # the general ones, the group with the form to fill in (tờ khai) first.
    cases.sort(key=lambda c: (bool(c and re.match(r"\s*(lưu ý|ghi chú|chú ý)", c, re.I)),
                              bool(c and re.match(r"\s*(trường hợp|đối với|nếu)", c, re.I)),
                              bool(c and re.search(r"xuất trình", c, re.I)),
                              not any(is_form(p) and not conditional(p) for p in groups[c])))
    return [(c, groups[c]) for c in cases]


def is_form(p: Paper) -> bool:
    """A form the citizen fills in (tờ khai, đơn, mẫu): what they most need to know first."""
    return bool(p.form) or bool(re.match(r"\s*[-+]?\s*(tờ khai|đơn|mẫu|phiếu)", p.name, re.I))


def papers_text(rec: ProcedureRecord, name: str, tail: list[str], limit: int = MAX_BODY) -> tuple[str, dict]:
    cases = paper_cases(rec)
    if not cases:
        return finish([f"{PORTAL} không liệt kê thành phần hồ sơ của thủ tục {name}."], tail, limit), {"papers": []}
    items: list[str] = []
    for case, group in cases:
        if len(cases) > 1 and case:
            items.append(f"{cut(case.rstrip(':'), 100)}:")
        items.extend(paper_text(p) for p in group)
    head = f"Giấy tờ cần nộp để {name}:" if len(cases) == 1 else f"Giấy tờ cần nộp để {name}, theo từng trường hợp:"
    text = items_text(head, items, tail, "mục", limit)
    return text, {"papers": [p.name for _, g in cases for p in g], "cases": [c for c, _ in cases if c]}


def where_text(rec: ProcedureRecord) -> str:
    places = [LEVEL_PLACE.get(lv, lv.lower()) for lv in rec.levels]
    return "Thực hiện ở " + (", ".join(places) if places else "cơ quan có thẩm quyền (Cổng không ghi cấp)")


# "… gửi hồ sơ đăng ký thành lập hộ kinh doanh đến Cơ quan đăng ký kinh doanh cấp xã": where the steps say to file
RE_FILED_AT = re.compile(r"\b(?:nộp|gửi)\s+(?:\S+\s+){0,12}?(?:tại|đến|cho|về)\s+((?:Cơ quan|Ủy ban|UBND|Bộ phận|Trung tâm|"
                         r"Phòng|Sở|Công an|Văn phòng|Chi nhánh|Chi cục|Cục)[^.;:]{5,300})")


def step_place(secs: dict[str, str]) -> str | None:
    """The office the steps say the file is sent or handed to, when the record has no receiving address."""
    for line in secs.get("Trình tự thực hiện", "").splitlines():
        m = RE_FILED_AT.search(" ".join(line.split()))
        if m:
            return cut(m.group(1).rstrip(" ,"), 180)
    return None


def where_lines(rec: ProcedureRecord, name: str, secs: dict[str, str] | None = None) -> tuple[list[str], dict]:
    lines = [f"{name[0].upper()}{name[1:]}: " + where_text(rec)[0].lower() + where_text(rec)[1:] + "."]
    agency = (rec.agency or "").rstrip(" .;,")
    if agency:
        lines.append(f"Cơ quan thực hiện: {cut(agency, 160)}.")
    if rec.receiving_address:
        lines.append(f"Địa chỉ tiếp nhận: {cut(rec.receiving_address, 160)}.")
    elif (place := step_place(secs or {})) and fold(place) != fold(agency):
        lines.append(f"Theo trình tự thực hiện, hồ sơ nộp tới: {place}" + ("" if place.endswith("…") else "."))
    if rec.online:
        lines.append(f"Có thể nộp trực tuyến tại {PORTAL_FULL}: {rec.source}")
    return lines, {"levels": rec.levels, "agency": rec.agency}


def online_text(rec: ProcedureRecord) -> str:
    if rec.online:
        return f"Có thể nộp trực tuyến tại {PORTAL_FULL}: {rec.source}"
    other = [CHANNEL_PHRASE[c.channel] for c in sorted_channels(rec) if c.channel in CHANNEL_PHRASE]
    how = " hoặc ".join(dict.fromkeys(other)) or "trực tiếp"
    return f"Theo {PORTAL}, thủ tục này chưa nộp trực tuyến được; {how} tại nơi tiếp nhận hồ sơ."


def who_lines(rec: ProcedureRecord, name: str) -> tuple[list[str], dict]:
    if not rec.applicants:
        return [f"{PORTAL} không ghi đối tượng thực hiện thủ tục {name}."], {"applicants": None}
    return [f"Đối tượng thực hiện {name}: {cut(rec.applicants, 300)}."], {"applicants": rec.applicants}


def result_text(rec: ProcedureRecord, name: str, secs: dict[str, str], tail: list[str],
            limit: int = MAX_BODY) -> tuple[str, dict]:
    raw = secs.get("Kết quả", "")
    items = [ln.strip().lstrip("-+ ").strip() for ln in raw.splitlines() if ln.strip() and not NO_INFO.match(ln)]
    if not items:
        return finish([f"{PORTAL} không ghi kết quả của thủ tục {name}."], tail, limit), {"results": []}
    text = items_text(f"Kết quả {name}:", [f"- {cut(i, 150)}" for i in items], tail, "kết quả", limit)
    return text, {"results": items}
