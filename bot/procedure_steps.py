"""How a record says a procedure is done: its steps by case (in person, online, by post) and the online way.

The portal lists each channel's steps under its own case ("* Trường hợp đăng ký qua mạng …"); the citizen asking
how to do it online gets that case, and "làm online được không" gets the account or app to use, in the record's words.
"""
from __future__ import annotations

import re

from bot.procedure_text import (CHANNEL_PHRASE, MAX_BODY, NO_INFO, PORTAL, RE_STEP, cut, finish, items_text,
                                online_text, sentence, sorted_channels)
from index.procedure_record import ProcedureRecord
from index.vietnamese import nfc

RE_HEREAFTER = re.compile(r"\s*\(sau đây (?:gọi tắt là|gọi là|viết tắt là)[^()]*\)", re.I)  # "(sau đây gọi tắt là …)"
RE_ONLINE_STEP = re.compile(r"trực tuyến|qua mạng|định danh|vneid|ứng dụng", re.I)
RE_IN_PERSON = re.compile(r"trực tiếp", re.I)
RE_APPLICANT_ACTS = re.compile(r"\b(nộp|đăng nhập|truy cập|kê khai|khai báo|đăng ký|gửi)\b", re.I)  # the citizen acts
RE_ONLINE_HOW = re.compile(r"định danh|vneid|ứng dụng|dịch vụ công|tài khoản|hộp thư điện tử|qua mạng|điện thoại", re.I)


def online_how(rec: ProcedureRecord, secs: dict[str, str]) -> str | None:
    """How it is done online, in the record's words: the first step of its online case ("đăng nhập bằng tài khoản
    định danh mức độ 2 trên cổng dịch vụ công hoặc Ứng dụng định danh quốc gia"), else the online channel's note
    or the first step that names the account, app or portal. "Làm online được không" is rarely the whole question."""
    online_lines, all_lines = [], []
    for case, lines in case_lines(secs.get("Trình tự thực hiện", "")):
        for ln in (RE_STEP.sub("", ln.lstrip("-+* ")).strip() for ln in lines):
            if ln:
                all_lines.append(ln)
                if case and RE_ONLINE_CASE.search(case):
                    online_lines.append(ln)
    channels = [c.description for c in rec.channels if c.channel == "Trực tuyến" and c.description]
    # any step will do only if it is plainly about the online way (not "trực tiếp nộp … hoặc qua Cổng …")
    steps = [ln for ln in all_lines if RE_ONLINE_STEP.search(ln) and RE_APPLICANT_ACTS.search(ln)
             and not RE_IN_PERSON.search(ln)]
    for text in [*online_lines, *channels, *steps]:
        text = RE_HEREAFTER.sub("", " ".join(nfc(text).split())).lstrip("-+*) ")
        if not RE_ONLINE_HOW.search(text):
            continue
        head, *items = re.split(r"\s\+\s", text)  # "khai báo qua: + Trực tiếp …; + Số điện thoại …": the online ways
        ways = [i.rstrip(";. ") for i in items if RE_ONLINE_HOW.search(i)]
        how = sentence("; ".join(ways) if ways else head, 300)
        if RE_ONLINE_HOW.search(how):  # the sentence quoted, not only the line, says how
            return how
    return None


def online_lines(rec: ProcedureRecord, name: str, secs: dict[str, str] | None = None,
            brief: bool = False) -> tuple[list[str], dict]:
    """`brief`: other fields are asked too (the fee, the time): the how in a line, room left for them."""
    lines = [f"{name[0].upper()}{name[1:]}: " + online_text(rec)[0].lower() + online_text(rec)[1:]]
    how = online_how(rec, secs or {}) if rec.online else None
    if how:
        lines.append(f"Cách làm trực tuyến: {how[0].lower()}{cut(how[1:], 150) if brief else how[1:]}")
    if brief:
        return lines, {"online": rec.online}
    others = [CHANNEL_PHRASE[c.channel] for c in sorted_channels(rec)
              if c.channel in ("Trực tiếp", "Dịch vụ bưu chính")]
    if rec.online and others:
        lines.append("Ngoài ra có thể " + " hoặc ".join(dict.fromkeys(others)) + ".")
    return lines, {"online": rec.online}


# "* Trường hợp đăng ký qua mạng thông tin điện tử: - Người nộp hồ sơ …": a case of the steps, often with its first
# step on the same line; the portal lists each channel's steps under its own case.
RE_STEP_CASE = re.compile(r"^\*\s*((?:trường hợp|đối với)[^:]{3,160}):\s*(?:-\s*)?(.*)$", re.I)
RE_ONLINE_CASE = re.compile(r"qua mạng|trực tuyến|điện tử|cổng dịch vụ công|online", re.I)


def _step_list(lines: list[str]) -> list[str]:
    numbered = [ln for ln in lines if re.match(r"bước\s*\d", ln, re.I)]  # "Bước 1: …" when the page has them
    steps = [sentence(RE_STEP.sub("", ln), 110) for ln in (numbered or [ln for ln in lines if RE_STEP.match(ln)])]
    steps = [s for s in steps if len(s) > 10 and not s.endswith(":")]
    if not steps:  # free text: its lines, minus sub-headings ("a) Trách nhiệm người khai:")
        plain = [RE_STEP.sub("", re.sub(r"^[a-zđ]\)\s*", "", ln)) for ln in lines if ln and not NO_INFO.match(ln)]
        steps = [sentence(ln, 160) for ln in plain if not ln.endswith(":") and len(ln) > 10]
    return steps


def step_cases(raw: str) -> list[tuple[str | None, list[str]]]:
    """The steps by case ("Trường hợp đăng ký trực tiếp …", "Trường hợp đăng ký qua mạng …"); one unnamed case
    when the page has none."""
    found = [(c, _step_list(lines)) for c, lines in case_lines(re.split(r"\n\s*\*?\s*Lưu ý", raw)[0])]
    return [(c, steps) for c, steps in found if steps] or [(None, [])]


def case_lines(raw: str) -> list[tuple[str | None, list[str]]]:
    """The lines of "Trình tự thực hiện" by case, uncut; a case's first step on its own line ("- …")."""
    cases: list[tuple[str | None, list[str]]] = [(None, [])]
    for ln in (ln.strip() for ln in raw.splitlines()):
        m = RE_STEP_CASE.match(ln)
        if m:
            cases.append((m.group(1).strip(), [f"- {m.group(2).strip()}"] if m.group(2).strip() else []))
        else:
            cases[-1][1].append(f"- {ln.lstrip('* ').strip()}" if ln.startswith("*") else ln)
    return cases


def steps_text(rec: ProcedureRecord, name: str, secs: dict[str, str], tail: list[str],
           limit: int = MAX_BODY, online: bool = False) -> tuple[str, dict]:
    cases = step_cases(secs.get("Trình tự thực hiện", ""))
    named = [c for c in cases if c[0]]
    if len(named) < 2:  # one way of doing it: every step, in order
        steps = [s for _, group in cases for s in group]
        if not steps:
            return finish([f"{PORTAL} không ghi trình tự thực hiện thủ tục {name}."], tail, limit), {"steps": []}
        items = [f"{i}) {s}" for i, s in enumerate(steps, 1)]
        return items_text(f"Các bước {name}:", items, tail, "bước", limit), {"steps": steps}
    # several ways (in person, online): the one asked about, else the first; the others named after it
    chosen = next((c for c in named if online and RE_ONLINE_CASE.search(c[0])), named[0])
    others = [cut(c[0], 80) for c in named if c is not chosen]
    items = [f"{i}) {s}" for i, s in enumerate(chosen[1], 1)]
    after = [f"Các bước khác trên Cổng: {'; '.join(others)}."] + tail
    head = f"Các bước {name} — {cut(chosen[0][0].lower() + chosen[0][1:], 90)}:"
    return items_text(head, items, after, "bước", limit), {"steps": chosen[1], "case": chosen[0]}


def conditions_text(rec: ProcedureRecord, name: str, secs: dict[str, str], tail: list[str],
                limit: int = MAX_BODY) -> tuple[str, dict]:
    raw = secs.get("Yêu cầu, điều kiện", "").strip()
    if not raw or NO_INFO.match(raw):
        text = finish([f"{PORTAL} không nêu yêu cầu, điều kiện riêng cho thủ tục {name}."], tail, limit)
        return text, {"conditions": None}
    lines = [sentence(RE_STEP.sub("", ln.strip(" +*")), 200) for ln in raw.splitlines() if ln.strip()]
    lines = [ln for ln in lines if ln and not NO_INFO.match(ln)]
    text = items_text(f"Yêu cầu, điều kiện để {name}:", [f"- {ln}" for ln in lines], tail, "ý", limit)
    return text, {"conditions": raw}
