"""Split the portal tables that the crawl flattened to text back into rows and columns.

The National Public Service Portal renders channels, papers and legal basis as HTML tables; the crawl joined the
cells without separators ("Trực tuyến7 Ngày làm việc10,000 Việt Nam Đồng(…)Trực tiếp…"). The cell grammar is
regular enough to recover rows: each parser here returns plain dicts plus the repair codes it had to apply.
"""
from __future__ import annotations

import re

CHANNELS = ("Dịch vụ bưu chính", "Trực tuyến", "Trực tiếp")
CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
PAPERS_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
NO_INFO = "Không có thông tin"

_UNITS = r"Ngày làm việc|Ngày|Giờ|Tháng|Năm|Tuần|Phút"
_CURRENCY = r"Việt Nam Đồng|VNĐ|Đồng|USD"
_FEE = re.compile(rf"Miễn phí|{NO_INFO}|(?P<fig>\d[\d,.]*) ?(?P<cur>{_CURRENCY})")
_TIME_WITH_UNIT = re.compile(rf"(?P<n>\d+(?:[.,]\d+)?) ?(?P<u>{_UNITS})")
_CHANNEL_AT = re.compile("|".join(CHANNELS))
_NOTE_AMOUNT = re.compile(r"(?<![\d/])(\d{1,3}(?:\.\d{3})+|\d+)\s*(?:đồng|đ\b|vnđ|Đồng|VNĐ|Đ\b)", re.IGNORECASE)
_SEPARATED_AMOUNT = re.compile(r"(?<![\d/.,])\d{1,3}(?:\.\d{3})+(?![\d/])")
_HDND = re.compile(r"(hđnd|hội đồng nhân dân)\s*(các\s*)?(cấp\s*)?(tỉnh|thành phố)", re.IGNORECASE)


def clean_text(text: str | None) -> str:
    """Collapse the crawl's tabs and runs of blanks; keep line breaks (steps are one per line)."""
    if not text:
        return ""
    text = text.replace("\xa0", " ").replace("\t", " ")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _balanced(text: str, start: int) -> tuple[str, int, bool]:
    """Text inside the parenthesis opening at `start`, the index after it, and whether it closed."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1, True
    return text[start + 1:], len(text), False


def format_amount(figure: str) -> str:
    """'10,000' or '10000' → '10.000' (Vietnamese thousands separator)."""
    digits = re.sub(r"[,.]", "", figure)
    if not digits.isdigit():
        return figure
    return f"{int(digits):,}".replace(",", ".")


def _note_amounts(note: str) -> set[int]:
    found = {m.group(1) for m in _NOTE_AMOUNT.finditer(note)} | {m.group(0) for m in _SEPARATED_AMOUNT.finditer(note)}
    return {int(a.replace(".", "")) for a in found}


def _split_run_together(digits: str, note: str, sibling_times: list[str]) -> tuple[str, str] | None:
    """A time whose unit was lost runs into the fee figure ('1' + '20 VNĐ' → '120 VNĐ'): choose the cut.

    Prefer the cut whose time another channel of the page states, then the one whose figure starts like an
    amount in the fee's own note, else a one-digit time (the usual lost value)."""
    plain = digits.replace(",", "").replace(".", "")
    cuts = []
    for i in range(1, min(3, len(plain))):
        time, fee = plain[:i], plain[i:]
        if fee.startswith("0"):
            continue
        if "," in digits and not re.fullmatch(r"\d{1,3}(,\d{3})*", digits[len(time):]):
            continue
        cuts.append((time, fee))
    if not cuts:
        return None  # "10 USD": no cut leaves a valid figure, so the time cell was empty
    for time, fee in cuts:
        if time in sibling_times:
            return time, fee
    amounts = [str(a) for a in sorted(_note_amounts(note))]
    for time, fee in cuts:
        if any(a.startswith(fee) for a in amounts):
            return time, fee
    return cuts[0]


def _row_starts(body: str) -> list[tuple[int, str]]:
    """Channel names that open a row: followed directly by a cell (digit, capital letter or end), not by prose."""
    starts = []
    for m in _CHANNEL_AT.finditer(body):
        nxt = body[m.end():m.end() + 1]
        if nxt == "" or nxt.isdigit() or nxt.isupper():
            starts.append((m.start(), m.group(0)))
    return starts


def parse_channels(raw: str) -> tuple[list[dict], list[str]]:
    """Rows of "Cách thức thực hiện": channel, time, fee, fee note, description; plus repair codes."""
    repairs: list[str] = []
    body = raw or ""
    if body.startswith(CHANNEL_HEADER):
        body = body[len(CHANNEL_HEADER):]
    starts = _row_starts(body)
    if not starts:
        return [], (["channels_unparsed"] if clean_text(body) not in ("", NO_INFO) else [])
    cells = []
    for i, (pos, channel) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(body)
        cells.append((channel, body[pos + len(channel):end]))
    stated = [m.group("n") for _, text in cells if (m := _TIME_WITH_UNIT.match(text))]
    rows = []
    for channel, text in cells:
        row, codes = _parse_channel_row(channel, text, stated)
        rows.append(row)
        repairs += codes
    return rows, repairs


def _parse_channel_row(channel: str, text: str, stated_times: list[str]) -> tuple[dict, list[str]]:
    codes = ["table_split"]
    time: str | None = None
    unit_missing = False
    rest = text
    fee_figure: str | None = None
    currency = "đồng"
    if m := _TIME_WITH_UNIT.match(rest):
        time, rest = f"{m.group('n')} {m.group('u').lower()}", rest[m.end():]
    elif rest.startswith(NO_INFO) and _FEE.match(rest[len(NO_INFO):]):
        rest = rest[len(NO_INFO):]
    elif m := re.match(rf"(\d+)(?=Miễn phí|{NO_INFO}|Không)", rest):
        time, unit_missing, rest = m.group(1), True, rest[m.end():]
    elif m := re.match(rf"(\d[\d,.]*) ?(?:{_CURRENCY})", rest):
        if cut := _split_run_together(m.group(1), rest[m.end():], stated_times):
            (time, fee_figure), unit_missing, rest = cut, True, rest[m.end():]
            currency = "USD" if m.group(0).endswith("USD") else "đồng"
            codes.append("time_fee_digits_split")
    elif m := re.match(r"(.{1,160}?)(?=" + _FEE.pattern + ")", rest, re.S):
        time, rest = clean_text(m.group(1)).rstrip(".") or None, rest[m.end():]
        if time in (NO_INFO,):
            time = None
    if unit_missing:
        codes.append("time_unit_missing")
    fee: str | None = None
    note: str | None = None
    if fee_figure is not None:
        fee = f"{format_amount(fee_figure)} {currency}"
    elif m := _FEE.match(rest):
        token, rest = m.group(0), rest[m.end():]
        if m.group("fig"):
            fee = f"{format_amount(m.group('fig'))} {'USD' if m.group('cur') == 'USD' else 'đồng'}"
            codes.append("fee_figure_formatted")
        elif token == "Miễn phí":
            fee = "Miễn phí"
    enumerator = re.match(r"\((?:[a-zđ]|[ivx]+|\d{1,2})\)", rest)  # "(a) Cung cấp…" opens the description
    if rest.startswith("(") and (fee or fee_figure) and not enumerator:  # after "Không có thông tin" too
        inner, after, closed = _balanced(rest, 0)
        note, rest = clean_text(inner), rest[after:]
        while note.startswith("(") and _balanced(note, 0)[1] == len(note):
            note = note[1:-1].strip()  # "((Mức lệ phí …))"
        if not closed:
            codes.append("fee_note_unclosed")
    description = clean_text(rest) or None
    if description == NO_INFO:
        description = None
    set_by_province = bool(_HDND.search(note or ""))
    if set_by_province:
        codes.append("fee_set_by_province")
    differs = False
    if note and fee:
        amounts = _note_amounts(note)
        value = 0 if fee == "Miễn phí" else int(re.sub(r"\D", "", fee))
        if fee.endswith("USD"):
            amounts = set()
        if amounts and value not in amounts and not (value == 0 and set_by_province):
            differs = True
            codes.append("fee_note_differs")
    if time and time.isdigit() and not unit_missing:
        unit_missing = True
        codes.append("time_unit_missing")
    row = {
        "channel": channel,
        "time": time,
        "time_unit_missing": unit_missing,
        "fee": fee,
        "fee_note": note or None,
        "fee_set_by_province": set_by_province,
        "fee_note_differs": differs,
        "description": description,
    }
    return row, codes


# --- papers -------------------------------------------------------------------------------------------------

_COPIES = re.compile(r"(\d+) bản chính(?:,(\d+) bản sao)?|(\d+) bản sao")
_FILE = re.compile(r"\.(?:docx?|pdf|xlsx?|rtf|odt|zip|rar)(?=$|\d+ bản)", re.IGNORECASE)
_FORM_MENTION = re.compile(r"\b([Mm]ẫu(?:\s+[Ss]ố)?\s*[A-ZĐ0-9][\w./-]*)")
_FILE_START = re.compile(r"(?i:m[aẫ]u|mus|ph[uụ] ?l[uụ]c|bm\b)")  # "…NĐ-CPMau13.docx", "…BNNMTMẫu số 03.docx"
_NUMBERED_FILE = re.compile(r"\d+-")  # "…đối với cá nhân7-Mẫu NA6.doc"
_FILE_WINDOW = 110  # longest template file names seen on the portal are ~105 characters


def _copies_text(original: int, copies: int) -> str | None:
    parts = []
    if original:
        parts.append(f"{original} bản chính")
    if copies:
        parts.append(f"{copies} bản sao")
    return ", ".join(parts) or None


def _count_value(digits: str, before: str) -> tuple[int, str]:
    """The copies cell is one or two digits; more digits (or two glued to a word) end the paper's own text."""
    if len(digits) > 2 or (len(digits) == 2 and before[-1:].isalnum()):
        return int(digits[-1]), digits[:-1]
    return int(digits), ""


def _split_form(name: str) -> tuple[str, str | None]:
    """Separate an attached template file name ('…(NA20).Mau NA20-BCA.docx') from the paper's name.

    The cells were joined without a space, so the file starts at the first join (punctuation or a lower→upper
    case change with no blank) within the file-name-sized window before the extension."""
    m = None
    for m in _FILE.finditer(name):
        pass
    if not m or m.end() != len(name):
        return name, None
    head = name[:m.start()]
    for i in range(max(1, len(head) - _FILE_WINDOW), len(head)):
        a, b = head[i - 1], head[i]
        if b.isspace() or not (b.isalnum() or b in "(["):
            continue
        if (a in ".,);:" and not (a in ".," and b.isdigit() and head[i - 2:i - 1].isdigit())) or \
                (a.islower() and b.isupper()) or (a.isalnum() and _FILE_START.match(head, i)) or \
                (a.isalpha() and _NUMBERED_FILE.match(head, i)):
            return head[:i].strip(), name[i:].strip()
    return name, None  # no visible join: leave the file name inside the paper's text rather than cut it wrongly


def _form_name(name: str, file: str | None) -> str | None:
    """The template a paper names: 'Mẫu CT01' from the text, else the attached file's stem."""
    if m := _FORM_MENTION.search(name):
        words = m.group(1).rstrip(".,;)").split()
        words[0] = "Mẫu"
        return " ".join(words)
    if file:
        return re.sub(r"\.\w+$", "", file).strip() or None
    return None


def parse_papers(raw: str) -> tuple[list[dict], list[str]]:
    """Rows of "Thành phần hồ sơ": name, form, copies, case heading; plus repair codes."""
    text = raw or ""
    if PAPERS_HEADER not in text:
        body = clean_text(text.strip("-"))
        if not body or body == NO_INFO:
            return [], []
        return [{"name": body, "form": None, "form_file": None, "copies": None, "case": None}], ["papers_unstructured"]
    parts = text.split(PAPERS_HEADER)
    heading = parts[0]
    papers: list[dict] = []
    for k, part in enumerate(parts[1:]):
        case = clean_text(heading).strip("-*+• ").rstrip(":").strip() or None
        rows, pos = [], 0
        for m in _COPIES.finditer(part):
            nxt = part[m.end():m.end() + 1]
            if nxt and nxt.isspace():
                continue  # "01 bản chính hoặc …" inside a paper's own text
            raw_digits = m.group(1) or m.group(3)
            original_digits = m.group(1)
            name = part[pos:m.start()]
            value, carry = _count_value(raw_digits, name)
            name += carry
            original = value if original_digits else 0
            copies = int(m.group(2) or 0) if original_digits else value
            rows.append((name, _copies_text(original, copies)))
            pos = m.end()
        tail = part[pos:]
        if k + 1 < len(parts) - 1:
            heading = tail
        elif clean_text(tail.strip("-")):
            rows.append((tail, None))
        for name, copies in rows:
            name = re.sub(r"^[-+*•]+\s*", "", clean_text(name))
            if not any(ch.isalpha() for ch in name):
                continue
            name, file = _split_form(name)
            papers.append({"name": name, "form": _form_name(name, file), "form_file": file,
                           "copies": copies, "case": case})
    codes = ["table_split"] if papers else []
    if any(p["form_file"] for p in papers):
        codes.append("form_file_split")
    return papers, codes


# --- legal basis --------------------------------------------------------------------------------------------

_AGENCY = (
    "BGTVT|BNNPTNT|BLĐTBXH|BKHĐT|BKHCN|BTNMT|BNNMT|BGDĐT|BTTTT|NHNN|UBND|HĐND|LLTP|NNMT|BTC|BCA|BTP|BXD|BNG|BQP|"
    "BNV|BYT|BCT|BVHTTDL|TANDTC|VKSNDTC|CTN|TTg|TTG|CP"
)
_KIND = "TTLT|TT|NĐ|NQ|QĐ|PL|CT|L"
_CODE = re.compile(
    rf"\d+(?:\.\d+)?/\d{{4}}/(?:(?:PL-)?(?:UBTV)?QH\d{{2}}|(?:{_KIND})(?:-(?:{_AGENCY}))+(?:-[A-Z]\d+)?|(?:{_KIND})-?BTC)"
)
_CODE_PREFIX = re.compile(r"(?:(?:Luật|Nghị định|Thông tư|Nghị quyết|Quyết định|Pháp lệnh)\s+)?[Ss]ố\s*$")


def parse_legal_basis(raw: str) -> tuple[list[dict], list[str]]:
    """Rows of "Căn cứ pháp lý": document name and number."""
    text = clean_text((raw or "").replace("\n", " "))
    if text.startswith(LEGAL_HEADER):
        text = text[len(LEGAL_HEADER):]
    if not text or text == NO_INFO:
        return [], []
    rows, pos = [], 0
    for m in _CODE.finditer(text):
        nxt = text[m.end():m.end() + 1]
        if nxt and not nxt.isupper():
            continue
        start = m.start()
        code = m.group(0)
        lead = re.match(r"\d+", code).group(0)
        if len(lead) >= 5 and lead[:2] in ("19", "20"):
            start, code = start + 4, code[4:]  # "Luật Cư trú 2020" + "68/2020/QH14"
        name = text[pos:start]
        if (p := _CODE_PREFIX.search(name)) and p.start() > 0 and not name[p.start() - 1].isspace():
            code, name = name[p.start():] + code, name[:p.start()]
        if not name.strip():
            continue
        rows.append({"name": name.strip(" ;,."), "number": code.strip()})
        pos = m.end()
    if tail := text[pos:].strip(" ;,."):
        rows.append({"name": tail, "number": None})
    return rows, ["table_split"] if rows else []
