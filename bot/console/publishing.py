"""The publish page: check the pending changes against the live version, see the test questions they move side by
side, then publish or cancel; roll back to the previous version after a confirmation; the history of versions.

Nothing reaches citizens before an officer with the "Biên tập" role presses "Xuất bản" on a checked version
that passed the same checks as `cchc index refresh`. Every decision is written to the audit log.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import diff
from bot.console.audit import note
from bot.console.auth import checked_form
from bot.console.candidate import PublishRun
from bot.console.knowledge import read_knowledge, without_paths
from bot.console.roles import require
from index import store
from index.settings import Settings

ACTION_NAMES = {"publish": "Xuất bản", "publish.cancel": "Huỷ phiên bản chờ xuất bản", "rollback": "Quay lại phiên bản trước",
                "document.edit": "Sửa thông tin văn bản", "document.disable": "Tắt văn bản",
                "document.enable": "Bật lại văn bản", "document.delete": "Xoá văn bản (vào thùng rác)",
                "document.restore": "Khôi phục văn bản", "document.add": "Tải lên văn bản mới",
                "document.update": "Tải lên bản sửa của văn bản", "document.discard": "Gỡ văn bản vừa tải lên"}
STATE_NAMES = {"live": "đang phục vụ", "retired": "đã phục vụ trước đây", "validated": "đã kiểm tra, chờ xuất bản",
               "building": "đang tạo"}


def version_label(version: str) -> str:
    """'20261202T140610043655Z' (a UTC time) → 'phiên bản lúc 02/12/2026 21:06' (Vietnam time): no raw ids."""
    try:
        at = datetime.strptime(version[:15], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return "phiên bản khác"
    return "phiên bản lúc " + at.astimezone(timezone(timedelta(hours=7))).strftime("%d/%m/%Y %H:%M")


def _percent(value: float) -> str:
    return f"{value * 100:.1f}".replace(".", ",") + "%"


def versions(settings: Settings) -> list[dict]:
    """Versions still on disk, newest first: when built, when served, who published them and what changed."""
    data_dir = Path(settings.data_dir)
    current = store.current_version(data_dir)
    target = store.previous_version(data_dir)
    out = []
    for version in reversed(store.list_versions(data_dir)):
        try:
            manifest = store.read_manifest(store.indexes_dir(data_dir) / version)
        except (OSError, ValueError, TypeError):
            continue
        extra = manifest.extra
        changes = extra.get("refresh") or {}
        out.append({"version": version, "state": extra.get("state"), "current": version == current,
                    "rollback_target": version == target, "built_at": manifest.built_at,
                    "live_since": extra.get("live_since"), "by": extra.get("published_by"),
                    "summary": extra.get("summary"), "documents": len(manifest.documents),
                    "chunks": manifest.chunk_count,
                    "full_build": not changes,
                    "counts": {k: len(changes.get(k) or []) for k in ("added", "changed", "removed")}})
    return out


def routes(render: Callable, redirect: Callable, settings: Settings, assistant: Any, eval_path: Path,
           publisher: PublishRun, audit: Any) -> list[Route]:
    """`audit` is the console's AuditLog (None: no history of changes shown)."""
    data_dir = Path(settings.data_dir)

    async def publish_page(request: Request) -> Response:
        view = await run_in_threadpool(read_knowledge, settings)
        pending = await run_in_threadpool(publisher.pending, data_dir)
        running = publisher.running
        return render(request, "publish.html", view=view, pending=pending, running=running,
                      step=publisher.step(data_dir) if running else "", publisher=publisher,
                      statuses=diff.STATUSES, previous=store.previous_version(data_dir),
                      check_seconds=getattr(settings, "index_check_seconds", 10.0), auto_refresh=running)

    async def check(request: Request) -> Response:
        await checked_form(request)
        require(request, "editor")
        view = await run_in_threadpool(read_knowledge, settings)
        titles = {d.id: d.title for d in view.documents}
        disabled = {d.id for d in view.documents if d.state in ("disabled", "disabling")}
        user = str(request.session.get("user") or "")
        if publisher.start(settings, assistant, eval_path, user, titles, disabled):
            return redirect("/knowledge/publish", (
                "ok", "Đang kiểm tra: tạo phiên bản mới bên cạnh phiên bản đang phục vụ và trả lời bộ câu hỏi "
                      "kiểm tra trên cả hai. Trợ lý vẫn trả lời người dân như cũ."), request)
        return redirect("/knowledge/publish", ("error", "Đang có một lần kiểm tra chạy, hãy chờ xong."), request)

    async def confirm(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        version = str(form.get("version", ""))
        user = str(request.session.get("user") or "")
        try:
            done = await run_in_threadpool(publisher.publish, settings, assistant, version, user)
        except (store.IndexUnavailable, RuntimeError) as exc:
            return redirect("/knowledge/publish", ("error", f"Chưa xuất bản. {without_paths(str(exc), settings)}"),
                            request)
        note(request, "publish", version_label(version).capitalize(), done["summary"])
        live, new = done["metrics"].get("live") or {}, done["metrics"].get("new") or {}
        quality = ""
        if live.get("answer_accuracy") is not None and new.get("answer_accuracy") is not None:
            quality = f" Trả lời đúng: {_percent(live['answer_accuracy'])} → {_percent(new['answer_accuracy'])}."
        return redirect("/knowledge/publish#published", (
            "ok", f"Đã xuất bản phiên bản mới: {done['summary']}.{quality}"), request)

    async def cancel(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        version = str(form.get("version", ""))
        if await run_in_threadpool(publisher.cancel, settings, version):
            note(request, "publish.cancel", version_label(version).capitalize(), "Huỷ phiên bản đã kiểm tra, không xuất bản")
            return redirect("/knowledge/publish", (
                "ok", "Đã huỷ phiên bản chờ xuất bản. Trợ lý vẫn trả lời như cũ; các thay đổi vẫn nằm trong kho "
                      "tri thức (sửa lại rồi kiểm tra lại, hoặc tắt văn bản)."), request)
        return redirect("/knowledge/publish", ("error", "Không có phiên bản nào đang chờ xuất bản."), request)

    def rollback_context() -> dict:
        current, target = store.current_version(data_dir), store.previous_version(data_dir)
        rows = {v["version"]: v for v in versions(settings)}
        return dict(current=rows.get(current or ""), target=rows.get(target or ""))

    async def rollback_page(request: Request) -> Response:
        return render(request, "rollback.html", **await run_in_threadpool(rollback_context))

    async def rollback(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        expected = str(form.get("target", ""))
        if form.get("confirm") != "1" or expected != store.previous_version(data_dir):
            return redirect("/knowledge/publish/rollback", (
                "error", "Hãy xem lại phiên bản sẽ quay về và đánh dấu ô xác nhận."), request)
        try:
            report = await run_in_threadpool(publisher.rollback, settings, assistant)
        except (store.IndexUnavailable, RuntimeError) as exc:
            return redirect("/knowledge/publish", ("error", f"Chưa quay lại. {without_paths(str(exc), settings)}"),
                            request)
        view = await run_in_threadpool(read_knowledge, settings)
        titles = {d.id: d.title for d in view.documents}
        differing = [titles.get(d, d) for d in report.differing]
        note(request, "rollback", version_label(report.to_version).capitalize(),
             f"Phục vụ lại; thôi phục vụ {version_label(report.from_version)}")
        tail = (f" Kho tri thức vẫn giữ các thay đổi ở: {', '.join(differing[:5])}{'…' if len(differing) > 5 else ''}"
                " — hãy sửa lại hoặc tắt trước lần xuất bản sau." if differing else "")
        return redirect("/knowledge/history", (
            "ok", f"Đã quay lại phiên bản trước. Trợ lý trả lời như trước lần xuất bản vừa rồi.{tail}"), request)

    async def history_page(request: Request) -> Response:
        rows = await run_in_threadpool(versions, settings)
        entries = [] if audit is None else [e for e in await run_in_threadpool(audit.entries, 200)
                                          if e.action in ("publish", "publish.cancel", "rollback")
                                          or e.action.startswith("document.")][:100]
        return render(request, "history.html", versions=rows, entries=entries, state_names=STATE_NAMES,
                      action_names=ACTION_NAMES,
                      previous=store.previous_version(data_dir))

    return [
        Route("/knowledge/publish", publish_page, methods=["GET"]),
        Route("/knowledge/publish/check", check, methods=["POST"]),
        Route("/knowledge/publish/confirm", confirm, methods=["POST"]),
        Route("/knowledge/publish/cancel", cancel, methods=["POST"]),
        Route("/knowledge/publish/rollback", rollback_page, methods=["GET"]),
        Route("/knowledge/publish/rollback", rollback, methods=["POST"]),
        Route("/knowledge/history", history_page, methods=["GET"]),
    ]
