"""The overview page: what citizens asked over 7/30/90 days, drawn as charts (bot/console/charts.py).

Counts only — no question here is linked to a person. Days are Vietnam days; a day without questions
is drawn as an empty slot so the time axis stays even.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import charts
from bot.console.questions import not_found_queue
from bot.store_questions import daily, not_found_texts
from bot.store_stats import VN_UTC_OFFSET_HOURS

PERIODS = {"7": "7 ngày", "30": "30 ngày", "90": "90 ngày", "all": "Toàn bộ"}
MAX_ALL_DAYS = 366  # "all" draws at most the last year day by day


def vn_today() -> date:
    return (datetime.now(timezone.utc) + timedelta(hours=VN_UTC_OFFSET_HOURS)).date()


def day_axis(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _seconds(value: float) -> str:
    return f"{value:.1f}".replace(".", ",").removesuffix(",0")


def build_charts(series: Any, days: str, channel_names: dict[str, str]) -> dict[str, Any]:
    """The four charts of the page from `store_questions.daily` output."""
    today = vn_today()
    if days == "all":
        first = date.fromisoformat(series.days[0]) if series.days else today
        first = max(first, today - timedelta(days=MAX_ALL_DAYS - 1))
    else:
        first = today - timedelta(days=int(days) - 1)
    axis = day_axis(first, today)
    channels = sorted({ch for counts in series.per_channel.values() for ch in counts})
    per_channel = [(channel_names.get(ch, ch), [series.per_channel.get(d, {}).get(ch, 0) for d in axis])
                   for ch in channels]
    share = [(series.not_found[d] / series.asked[d]) if series.asked.get(d) else None for d in axis]
    p50 = [series.p50.get(d) / 1000 if series.p50.get(d) is not None else None for d in axis]
    p95 = [series.p95.get(d) / 1000 if series.p95.get(d) is not None else None for d in axis]
    span = f"từ {charts.day_label(axis[0])} đến {charts.day_label(axis[-1])}"
    total = sum(sum(values) for _, values in per_channel)
    return {
        "questions": charts.bar_chart(
            "Số câu hỏi mỗi ngày, theo kênh", axis, per_channel or [("Câu hỏi", [0] * len(axis))],
            desc=f"{total} câu hỏi {span}; mỗi cột là một ngày, chia màu theo kênh.", unit=" câu", legend=True),
        "not_found": charts.line_chart(
            "Tỉ lệ câu hỏi không tìm thấy câu trả lời", axis, [("Không tìm thấy", share)],
            desc=f"Tỉ lệ mỗi ngày {span}; ngày không có câu hỏi để trống.", fmt=_percent),
        "latency": charts.line_chart(
            "Thời gian trả lời (giây)", axis, [("Trung vị (p50)", p50), ("95% câu nhanh hơn (p95)", p95)],
            desc=f"Thời gian trả lời mỗi ngày {span}: một nửa số câu nhanh hơn đường p50, 95% nhanh hơn đường p95.",
            fmt=_seconds, unit=" giây"),
        "votes": charts.bar_chart(
            "Đánh giá của người dân mỗi ngày", axis,
            [("Hài lòng", [series.up.get(d, 0) for d in axis]), ("Chưa hài lòng", [series.down.get(d, 0) for d in axis])],
            desc=f"Số lượt đánh giá {span}.", unit=" lượt"),
    }


def routes(render: Callable, store: Any, channel_names: dict[str, str]) -> list[Route]:
    query = getattr(store, "read_only_query", None)

    async def overview_page(request: Request) -> Response:
        days = request.query_params.get("days", "30")
        days = days if days in PERIODS else "30"
        since = None if days == "all" else datetime.combine(
            vn_today() - timedelta(days=int(days) - 1), datetime.min.time(),
            tzinfo=timezone(timedelta(hours=VN_UTC_OFFSET_HOURS)))
        if store is None:
            return render(request, "overview.html", has_store=False, days=days, periods=PERIODS)
        stats = await run_in_threadpool(store.stats, since)
        series = await run_in_threadpool(daily, query, since) if query else None
        unanswered = not_found_queue(await run_in_threadpool(not_found_texts, query, since)) if query else []
        table: list[dict] = []
        per_day: dict[str, dict[str, int]] = defaultdict(dict)
        for row in stats.per_day:
            per_day[row["day"]][row["channel"]] = row["count"]
        channels = sorted({row["channel"] for row in stats.per_day})
        for day in sorted(per_day, reverse=True):
            table.append({"day": day, "counts": per_day[day], "total": sum(per_day[day].values())})
        return render(request, "overview.html", has_store=True, days=days, periods=PERIODS, stats=stats,
                      series=series, charts=build_charts(series, days, channel_names) if series else None,
                      unanswered=unanswered, table=table, channels=channels)

    return [Route("/overview", overview_page, methods=["GET"])]
