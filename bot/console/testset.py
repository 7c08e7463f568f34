"""The test-set page: the eval questions (the YAML file `cchc eval` reads) listed, searched, edited and run, with
the last run compared to the one before (questions that got worse in red)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import evalset
from bot.console.audit import note
from bot.console.auth import checked_form
from bot.console.jobs import EvalRun
from bot.console.roles import require
from index.vietnamese import fold


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def routes(render: Callable, redirect: Callable, assistant: Any, eval_path: Path, folder: Path,
           runner: EvalRun) -> list[Route]:
    def tests_context(request: Request, edit_id: str | None = None, form_error: str | None = None,
                      draft: dict | None = None) -> dict:
        try:
            items = evalset.load(eval_path)
            file_error = None
        except evalset.EvalFileError as exc:
            items, file_error = [], str(exc)
        last = evalset.runs(folder, eval_path, limit=2)
        current = last[0] if last else None
        previous = last[1] if len(last) > 1 else None
        diff = evalset.compare(current, previous) if current else None
        categories = sorted({i.category for i in items})
        category = request.query_params.get("category", "")
        only_failed = request.query_params.get("failed") == "1"
        search = request.query_params.get("q", "").strip()[:200]
        shown = [i for i in items if not category or i.category == category]
        if search:  # case and diacritics do not matter: "dang ky" finds "Đăng ký"
            needle = fold(search)
            shown = [i for i in shown if needle in fold(" ".join([i.id, i.question, *i.expected_facts]))]
        if only_failed and current:
            shown = [i for i in shown if not current["results"].get(i.id, {}).get("correct", True)]
        editing = next((i for i in items if i.id == edit_id), None) if edit_id else None
        return dict(items=shown, total=len(items), categories=categories, category=category,
                    only_failed=only_failed, run=current, previous=previous, diff=diff, runner=runner,
                    editing=editing, file_error=file_error, form_error=form_error, draft=draft,
                    eval_name=eval_path.name, search=search)

    async def tests_page(request: Request) -> Response:
        return render(request, "tests.html", **tests_context(request, request.query_params.get("edit")))

    async def tests_save(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        item_id = str(form.get("id", "")).strip() or None
        draft = {k: str(form.get(k, "")) for k in ("question", "facts", "category", "docs")}
        draft["not_found"] = form.get("not_found") == "1"
        try:
            saved = evalset.save_item(eval_path, item_id, draft["question"], draft["category"],
                                      not draft["not_found"], _lines(draft["facts"]), _lines(draft["docs"]))
        except evalset.EvalFileError as exc:
            return render(request, "tests.html", status=400,
                          **tests_context(request, item_id, form_error=str(exc), draft=draft))
        verb = "Đã sửa" if item_id else "Đã thêm"
        note(request, "tests.edit" if item_id else "tests.add", saved, draft["question"][:200])
        return redirect(f"/tests#{saved}", ("ok", f"{verb} câu hỏi {saved} trong bộ câu hỏi."), request)

    async def tests_delete(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        item_id = str(form.get("id", ""))
        if evalset.delete_item(eval_path, item_id):
            note(request, "tests.delete", item_id)
            return redirect("/tests", ("ok", f"Đã xoá câu hỏi {item_id}."), request)
        return redirect("/tests", ("error", f"Không tìm thấy câu hỏi {item_id}."), request)

    async def tests_run(request: Request) -> Response:
        await checked_form(request)
        require(request, "editor")
        if runner.start(assistant, eval_path, folder, str(request.session.get("user") or "")):
            note(request, "tests.run", eval_path.name)
            return redirect("/tests", ("ok", "Đang chạy bộ câu hỏi…"), request)
        return redirect("/tests", ("error", runner.error or "Bộ câu hỏi đang chạy, hãy chờ xong."), request)

    return [Route("/tests", tests_page, methods=["GET"]),
            Route("/tests/save", tests_save, methods=["POST"]),
            Route("/tests/delete", tests_delete, methods=["POST"]),
            Route("/tests/run", tests_run, methods=["POST"])]
