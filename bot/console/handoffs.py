"""The hand-off queue: conversations the assistant passed to a person ("gặp cán bộ", repeated not-founds).

The conversation layer stores each one redacted; an officer reads it, calls or messages the citizen through the
channel, and marks it done.
"""
from __future__ import annotations

from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.audit import note
from bot.console.auth import checked_form
from bot.console.roles import require


def routes(render: Callable, redirect: Callable, store: Any) -> list[Route]:
    listing = getattr(store, "list_handoffs", None)

    async def handoffs_page(request: Request) -> Response:
        show_all = request.query_params.get("all") == "1"
        items = [] if listing is None else await run_in_threadpool(listing, None if show_all else False, 200)
        return render(request, "handoffs.html", items=items, show_all=show_all, has_store=listing is not None)

    async def handoff_done(request: Request) -> Response:
        await checked_form(request)
        require(request, "editor")
        hid = int(request.path_params["hid"])
        if listing is not None and await run_in_threadpool(store.mark_handoff_done, hid):
            note(request, "handoff.done", f"yêu cầu {hid}")
            return redirect("/handoffs", ("ok", "Đã đánh dấu đã xử lý."), request)
        return redirect("/handoffs", ("error", "Không tìm thấy yêu cầu này."), request)

    return [Route("/handoffs", handoffs_page, methods=["GET"]),
            Route("/handoffs/{hid:int}/done", handoff_done, methods=["POST"])]
