"""The feedback page: citizens' 👎 answers, newest first; mark one reviewed, or turn it into a test question."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import evalset, questions
from bot.console.audit import note
from bot.console.auth import checked_form
from bot.console.roles import require


def find_feedback(store: Any, feedback_id: int) -> Any | None:
    """One vote by id. The store has no getter for a single vote, so search its listing (small)."""
    for fb in store.list_feedback(vote=None, reviewed=None, limit=100_000):
        if fb.id == feedback_id:
            return fb
    return None


def routes(render: Callable, redirect: Callable, store: Any, eval_path: Path) -> list[Route]:
    async def feedback_page(request: Request) -> Response:
        show_all = request.query_params.get("all") == "1"
        items = [] if store is None else await run_in_threadpool(
            store.list_feedback, -1, None if show_all else False, 200)
        try:
            categories = sorted({i.category for i in evalset.load(eval_path)})
        except evalset.EvalFileError:
            categories = []
        return render(request, "feedback.html", items=items, show_all=show_all, has_store=store is not None,
                      categories=categories)

    async def feedback_reviewed(request: Request) -> Response:
        await checked_form(request)
        require(request, "editor")
        fid = int(request.path_params["fid"])
        if store is not None and await run_in_threadpool(store.mark_reviewed, fid):
            note(request, "feedback.reviewed", f"góp ý {fid}")
            return redirect("/feedback", ("ok", "Đã đánh dấu đã xem."), request)
        return redirect("/feedback", ("error", "Không tìm thấy góp ý này."), request)

    async def feedback_to_test(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        fid = int(request.path_params["fid"])
        fb = None if store is None else await run_in_threadpool(find_feedback, store, fid)
        if fb is None:
            return redirect("/feedback", ("error", "Không tìm thấy góp ý này."), request)
        try:
            new_id = await run_in_threadpool(questions.test_from_form, eval_path, form, fb.question, "feedback")
        except evalset.EvalFileError as exc:
            return redirect(f"/feedback#fb-{fid}", ("error", str(exc)), request)
        await run_in_threadpool(store.mark_reviewed, fid)
        note(request, "feedback.to_test", new_id, fb.question[:200])
        return redirect(f"/tests#{new_id}", ("ok", f"Đã thêm câu hỏi {new_id} vào bộ câu hỏi từ góp ý."), request)

    return [Route("/feedback", feedback_page, methods=["GET"]),
            Route("/feedback/{fid:int}/reviewed", feedback_reviewed, methods=["POST"]),
            Route("/feedback/{fid:int}/to-test", feedback_to_test, methods=["POST"])]
