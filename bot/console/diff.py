"""What a change to the knowledge does to the test questions: each question answered by the live version and by
the checked new one, side by side, sorted by what an officer must look at first (answers that got worse).

Plain data only (JSON-safe dicts), so a waiting candidate's comparison survives a console restart.
"""
from __future__ import annotations

from typing import Any

# status -> (label, one line of explanation), in the order the page lists them
STATUSES: dict[str, tuple[str, str]] = {
    "worse": ("Kém đi", "Trước trả lời đúng, phiên bản mới trả lời sai hoặc từ chối sai."),
    "better": ("Tốt lên", "Trước trả lời sai, phiên bản mới trả lời đúng."),
    "source": ("Nguồn khác", "Vẫn đúng (hoặc vẫn sai) nhưng trích dẫn văn bản khác ở nguồn [1]."),
    "answer": ("Câu trả lời khác", "Cùng kết quả, cùng nguồn, nhưng câu chữ hoặc quyết định trả lời thay đổi."),
}
ANSWER_CHARS = 700  # the answer body is at most 700 characters (bot/compose.py)


def _side(result: Any, titles: dict[str, str]) -> dict:
    source = result.first_source
    return {"found": bool(result.found), "correct": bool(result.correct), "answer": (result.answer or "")[:ANSWER_CHARS],
            "source_id": source[0] if source else None,
            "source_title": titles.get(source[0], source[0]) if source else None,
            "section": source[1] if source else None}


def status_of(old: dict, new: dict) -> str | None:
    """The kind of change between two answers to one question; None when nothing an officer would see changed."""
    if old["correct"] and not new["correct"]:
        return "worse"
    if new["correct"] and not old["correct"]:
        return "better"
    if old["source_id"] != new["source_id"] and old["found"] and new["found"]:
        return "source"
    if old["found"] != new["found"] or old["answer"] != new["answer"] or old["source_id"] != new["source_id"]:
        return "answer"
    return None


def compare(live: Any, new: Any, titles: dict[str, str]) -> dict:
    """Rows for the questions whose answer moved, and counts per status; `live`/`new` are bot.evaluate Reports
    over the same questions (`live` None: nothing served before, every question is new)."""
    before = {r.item.id: r for r in live.results} if live is not None else {}
    rows, counts = [], {key: 0 for key in STATUSES}
    for result in new.results:
        item = result.item
        now = _side(result, titles)
        old = _side(before[item.id], titles) if item.id in before else None
        status = status_of(old, now) if old is not None else ("better" if now["correct"] else "worse")
        if status is None:
            continue
        counts[status] += 1
        rows.append({"id": item.id, "question": item.question, "category": item.category,
                     "expect_found": item.expect_found, "status": status, "live": old, "new": now})
    order = list(STATUSES)
    rows.sort(key=lambda r: (order.index(r["status"]), r["id"]))
    return {"rows": rows, "counts": counts, "total": len(new.results),
            "unchanged": len(new.results) - len(rows)}
