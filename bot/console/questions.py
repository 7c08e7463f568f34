"""The question log pages: every logged citizen question, one question with "ask again" and "add to the
test set", and the queue of unanswered questions grouped by their content words.

The rows come from the store (`bot.store_questions`, read-only SQL); questions and answers are shown
as stored, i.e. already redacted. "Ask again" runs the live assistant on the redacted text.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import evalset
from bot.console.audit import note
from bot.console.auth import checked_form
from bot.console.roles import require
from bot.store_questions import QuestionFilter, get_question, known_values, list_questions, not_found_texts
from index.vietnamese import STOPWORDS, syllables

PAGE_SIZE = 50
LOG_CATEGORY = "question_log"  # eval category of questions added from the log


def group_key(question: str) -> str:
    """Same content words in any order and with or without diacritics → the same group."""
    return " ".join(sorted({t for t in syllables(question) if t not in STOPWORDS}))


@dataclass
class Group:
    question: str  # the most frequent wording
    count: int
    latest_id: int
    wordings: int


def not_found_queue(rows: list[tuple[int, str]], top: int = 10) -> list[Group]:
    """The most frequent unanswered questions; rows are (id, question), newest first."""
    groups: dict[str, Counter] = {}
    latest: dict[str, int] = {}
    for qid, question in rows:
        key = group_key(question) or question.strip().lower()
        groups.setdefault(key, Counter())[question.strip()] += 1
        latest.setdefault(key, qid)
    ranked = sorted(groups.items(), key=lambda kv: (-sum(kv[1].values()), -latest[kv[0]]))
    return [Group(question=c.most_common(1)[0][0], count=sum(c.values()), latest_id=latest[k], wordings=len(c))
            for k, c in ranked[:top]]


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def test_from_form(eval_path: Path, form: Any, fallback_question: str, default_category: str) -> str:
    """Save the "add to the test set" form as a new eval question; returns its id, raises EvalFileError."""
    question = str(form.get("question", "")).strip() or fallback_question
    not_found = form.get("not_found") == "1"
    facts = lines(str(form.get("facts", "")))
    if not not_found and not facts:
        raise evalset.EvalFileError(
            "Hãy ghi câu trả lời đúng (mỗi ý một dòng), hoặc chọn “Đúng ra phải trả lời không tìm thấy”.")
    return evalset.save_item(eval_path, None, question, str(form.get("category", "")).strip() or default_category,
                             not not_found, facts, lines(str(form.get("docs", ""))))


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def read_filter(request: Request) -> tuple[QuestionFilter, int]:
    p = request.query_params
    flt = QuestionFilter(not_found=p.get("nf") == "1", down=p.get("down") == "1", channel=p.get("channel", ""),
                         ward=p.get("ward", ""), day_from=_day(p.get("from", "")), day_to=_day(p.get("to", "")),
                         search=p.get("q", "")[:200])
    try:
        page = max(1, int(p.get("page", "1")))
    except ValueError:
        page = 1
    return flt, page


def filter_query(flt: QuestionFilter, page: int = 1) -> str:
    """The filter as a query string (for paging links and "back to the list")."""
    pairs = [("nf", "1" if flt.not_found else ""), ("down", "1" if flt.down else ""), ("channel", flt.channel),
             ("ward", flt.ward), ("from", flt.day_from.isoformat() if flt.day_from else ""),
             ("to", flt.day_to.isoformat() if flt.day_to else ""), ("q", flt.search),
             ("page", str(page) if page > 1 else "")]
    return urlencode([(k, v) for k, v in pairs if v])


def routes(render: Callable, redirect: Callable, store: Any, assistant: Any, eval_path: Path,
           evidence: Callable[[Any], dict]) -> list[Route]:
    """The question log's routes, wired to the console's renderer, store and assistant."""
    query = getattr(store, "read_only_query", None)

    def categories() -> list[str]:
        try:
            return sorted({i.category for i in evalset.load(eval_path)})
        except evalset.EvalFileError:
            return []

    async def log_page(request: Request) -> Response:
        flt, page = read_filter(request)
        if query is None:
            return render(request, "questions.html", has_store=False, items=[], total=0, flt=flt, page=1, pages=1,
                          channels=[], wards=[], queue=[], filter_query=filter_query)
        items, total = await run_in_threadpool(list_questions, query, flt, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        channels, wards = await run_in_threadpool(known_values, query)
        rows = await run_in_threadpool(not_found_texts, query, None)
        pages = max(1, -(-total // PAGE_SIZE))
        return render(request, "questions.html", has_store=True, items=items, total=total, flt=flt, page=page,
                      pages=pages, channels=channels, wards=wards, queue=not_found_queue(rows),
                      filter_query=filter_query, bad_date=any(
                          request.query_params.get(k) and _day(request.query_params.get(k, "")) is None
                          for k in ("from", "to")))

    async def detail(request: Request, answer: Any = None, error: str | None = None, status: int = 200,
                     form_error: str | None = None) -> Response:
        qid = int(request.path_params["qid"])
        item = None if query is None else await run_in_threadpool(get_question, query, qid)
        if item is None:
            return render(request, "error.html", status=404, code=404, message="Không có câu hỏi này trong nhật ký.")
        back = request.query_params.get("back", "")
        return render(request, "question.html", status=status, item=item, answer=answer, error=error,
                      evidence=evidence(answer) if answer is not None else None, categories=categories(),
                      back=back, form_error=form_error, log_category=LOG_CATEGORY)

    async def detail_page(request: Request) -> Response:
        return await detail(request)

    async def ask_again(request: Request) -> Response:
        await checked_form(request)
        qid = int(request.path_params["qid"])
        item = None if query is None else await run_in_threadpool(get_question, query, qid)
        if item is None:
            return await detail(request)
        try:
            answer = await run_in_threadpool(assistant.answer, item.question)
        except Exception as exc:  # the officer sees what a citizen would hit now
            return await detail(request, error=f"Trợ lý không trả lời được: {exc}")
        return await detail(request, answer=answer)

    async def to_test(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        qid = int(request.path_params["qid"])
        item = None if query is None else await run_in_threadpool(get_question, query, qid)
        if item is None:
            return await detail(request)
        try:
            new_id = await run_in_threadpool(test_from_form, eval_path, form, item.question, LOG_CATEGORY)
        except evalset.EvalFileError as exc:
            return await detail(request, status=400, form_error=str(exc))
        note(request, "questions.to_test", new_id, item.question[:200])
        return redirect(f"/tests#{new_id}", ("ok", f"Đã thêm câu hỏi {new_id} vào bộ câu hỏi từ nhật ký."), request)

    return [
        Route("/questions", log_page, methods=["GET"]),
        Route("/questions/{qid:int}", detail_page, methods=["GET"]),
        Route("/questions/{qid:int}/ask", ask_again, methods=["POST"]),
        Route("/questions/{qid:int}/to-test", to_test, methods=["POST"]),
    ]
