"""Knowledge pages: the document list, one page per document (metadata, passages as indexed, test questions that
need it), and the changes officers make there: edit the metadata, disable or enable, delete into the trash.

A change only touches the knowledge folder; citizens see it after the validated publish (/knowledge/publish).
Every change needs the "Biên tập" role, a valid CSRF token, and is written to the audit log.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import docmeta, evalset, trash
from bot.console.audit import note
from bot.console.auth import checked_form, console_dir
from bot.console.knowledge import document_files, passages_of, read_knowledge, without_paths
from bot.console.roles import require
from index.chunk import PROCEDURE_TYPE, PROFILE_TYPE
from index.documents import KnowledgeError, is_disabled
from index.settings import Settings
from index.types import Document
from index.vietnamese import fold

PAGE_SIZE = 100
SHOW = {"": "Tất cả", "plans": "Kế hoạch, văn bản", "procedures": "Thủ tục", "pending": "Chờ xuất bản",
        "disabled": "Đã tắt"}
STATE_NAMES = {"indexed": ("đang phục vụ", "ok"), "changed": ("đã sửa, chờ xuất bản", "bad"),
               "not_indexed": ("mới, chờ xuất bản", "bad"), "removed": ("đã xoá, chờ xuất bản", "bad"),
               "disabled": ("đã tắt", ""), "disabling": ("đã tắt, chờ xuất bản", "bad")}
PROCEDURE_FIELDS = {"field": "Lĩnh vực", "agency": "Cơ quan thực hiện", "applicants": "Đối tượng",
                    "result": "Kết quả", "decision": "Quyết định công bố"}
PUBLISH_HINT = "Người dân chưa thấy thay đổi này cho tới khi xuất bản."


def find_document(settings: Settings, doc_id: str) -> tuple[Path | None, Document] | None:
    """The document and its Markdown file (None for a ward profile, which has its own form)."""
    for path, doc in document_files(settings):
        if doc.id == doc_id:
            return path, doc
    return None


def tests_citing(eval_path: Path, doc_id: str) -> list[evalset.Item]:
    """Test questions whose expected documents include this one."""
    try:
        return [i for i in evalset.load(eval_path) if doc_id in i.expected_docs]
    except evalset.EvalFileError:
        return []


def _filtered(rows: list, q: str, show: str) -> list:
    if show == "plans":
        rows = [r for r in rows if not r.procedure]
    elif show == "procedures":
        rows = [r for r in rows if r.procedure]
    elif show == "pending":
        rows = [r for r in rows if r.pending]
    elif show == "disabled":
        rows = [r for r in rows if r.state in ("disabled", "disabling")]
    if q:
        words = fold(q).split()
        rows = [r for r in rows
                if all(w in fold(" ".join(str(v or "") for v in (r.title, r.id, r.number, r.ward, r.city)))
                       for w in words)]
    return rows


def routes(render: Callable, redirect: Callable, settings: Settings, eval_path: Path,
           publish_running: Callable[[], bool]) -> list[Route]:
    folder = console_dir(settings)
    knowledge_dir = Path(settings.knowledge_dir)

    async def knowledge_page(request: Request) -> Response:
        view = await run_in_threadpool(read_knowledge, settings)
        q = request.query_params.get("q", "").strip()[:200]
        show = request.query_params.get("show", "")
        show = show if show in SHOW else ""
        rows = _filtered(view.documents, q, show)
        # Pending and plan documents first: thousands of procedure records follow them.
        rows.sort(key=lambda r: (not r.pending, r.procedure))
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        try:
            page = min(max(1, int(request.query_params.get("page", "1"))), pages)
        except ValueError:
            page = 1
        return render(request, "knowledge.html", view=view, rows=rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE],
                      matched=len(rows), page=page, pages=pages, q=q, show=show, show_names=SHOW,
                      state_names=STATE_NAMES, publishing=publish_running())

    def document_context(doc_id: str) -> dict:
        found = find_document(settings, doc_id)
        view = read_knowledge(settings)
        row = next((r for r in view.documents if r.id == doc_id), None)
        if row is None:
            raise HTTPException(404)
        doc = found[1] if found else None
        docs = [d for _, d in document_files(settings)]
        replaced_by = [d for d in docs if doc_id in (d.extra.get("replaces") if isinstance(d.extra.get("replaces"), list)
                                                     else [d.extra.get("replaces")])]
        options = docmeta.choices(docs, doc_id)
        return dict(doc=doc, row=row, state_names=STATE_NAMES, passages=passages_of(settings, doc_id),
                    tests=tests_citing(eval_path, doc_id), fields=docmeta.FIELDS, types=docmeta.TYPES,
                    scope_names=docmeta.SCOPE_NAMES, options=options, replaced_by=replaced_by,
                    editable=doc is not None and docmeta.editable(doc), shown=docmeta.shown_value,
                    values=docmeta.form_values(doc) if doc else {}, problems={}, procedure_fields=PROCEDURE_FIELDS,
                    is_procedure=(row.type == PROCEDURE_TYPE), is_profile=(row.type == PROFILE_TYPE),
                    has_file=bool(found and found[0]))

    async def document_page(request: Request) -> Response:
        context = await run_in_threadpool(document_context, request.path_params["doc_id"])
        return render(request, "document.html", **context)

    async def _changeable(request: Request) -> tuple[dict, Path, Document]:
        """The form (CSRF checked), the editor's right, and the document's file; 404 when it has none."""
        form = await checked_form(request)
        require(request, "editor")
        found = await run_in_threadpool(find_document, settings, request.path_params["doc_id"])
        if found is None or found[0] is None:
            raise HTTPException(404)
        return {k: str(v) for k, v in form.items()}, found[0], found[1]

    async def edit(request: Request) -> Response:
        form, path, doc = await _changeable(request)
        back = f"/knowledge/doc/{doc.id}"
        if not docmeta.editable(doc):
            return redirect(back, ("error", "Thông tin của văn bản này không sửa ở đây."), request)
        docs = [d for _, d in await run_in_threadpool(document_files, settings)]
        try:
            changes = docmeta.validate(form, doc, docmeta.choices(docs, doc.id))
        except docmeta.MetadataError as exc:
            context = await run_in_threadpool(document_context, doc.id)
            context.update(values={k: form.get(k, "") for k in docmeta.FIELDS}, problems=exc.problems)
            return render(request, "document.html", status=400, **context)
        changed = docmeta.changed_fields(doc, changes)
        if not changed:
            return redirect(back, ("ok", "Không có thông tin nào thay đổi."), request)
        try:
            saved = await run_in_threadpool(docmeta.save, path, changes)
        except (KnowledgeError, OSError) as exc:
            return redirect(back, ("error", f"Không lưu được: {without_paths(str(exc), settings)}"), request)
        note(request, "document.edit", f"{saved.title} ({saved.id})", "Sửa: " + ", ".join(changed))
        return redirect(back, ("ok", f"Đã lưu: {', '.join(changed)}. {PUBLISH_HINT}"), request)

    async def set_disabled(request: Request, disabled: bool) -> Response:
        _, path, doc = await _changeable(request)
        back = f"/knowledge/doc/{doc.id}"
        if is_disabled(doc) == disabled:
            return redirect(back, ("ok", "Văn bản đã ở trạng thái này."), request)
        try:
            await run_in_threadpool(docmeta.set_disabled, path, disabled)
        except (KnowledgeError, OSError) as exc:
            return redirect(back, ("error", f"Không lưu được: {without_paths(str(exc), settings)}"), request)
        note(request, "document.disable" if disabled else "document.enable", f"{doc.title} ({doc.id})")
        done = "Đã tắt văn bản: trợ lý sẽ không dùng văn bản này" if disabled else "Đã bật lại văn bản"
        return redirect(back, ("ok", f"{done}. {PUBLISH_HINT}"), request)

    async def disable(request: Request) -> Response:
        return await set_disabled(request, True)

    async def enable(request: Request) -> Response:
        return await set_disabled(request, False)

    async def delete(request: Request) -> Response:
        form, path, doc = await _changeable(request)
        if form.get("confirm") != doc.id:
            return redirect(f"/knowledge/doc/{doc.id}#delete",
                            ("error", "Hãy đánh dấu ô xác nhận trước khi xoá văn bản."), request)
        user = str(request.session.get("user") or "")
        try:
            await run_in_threadpool(trash.move_to_trash, folder, knowledge_dir, path, doc, user)
        except OSError as exc:
            message = f"Không xoá được: {without_paths(str(exc), settings)}"
            return redirect(f"/knowledge/doc/{doc.id}", ("error", message), request)
        note(request, "document.delete", f"{doc.title} ({doc.id})", "Chuyển vào thùng rác")
        return redirect("/knowledge/trash", (
            "ok", f"Đã chuyển “{doc.title}” vào thùng rác (khôi phục được). {PUBLISH_HINT}"), request)

    async def trash_page(request: Request) -> Response:
        items = await run_in_threadpool(trash.listing, folder)
        return render(request, "trash.html", items=items)

    async def restore(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        ids = {d.id for _, d in await run_in_threadpool(document_files, settings)}
        try:
            entry = await run_in_threadpool(trash.restore, folder, knowledge_dir, str(form.get("name", "")), ids)
        except trash.TrashError as exc:
            return redirect("/knowledge/trash", ("error", str(exc)), request)
        note(request, "document.restore", f"{entry.title} ({entry.doc_id})", "Khôi phục từ thùng rác")
        return redirect(f"/knowledge/doc/{entry.doc_id}", ("ok", f"Đã khôi phục “{entry.title}”. {PUBLISH_HINT}"),
                        request)

    return [
        Route("/knowledge", knowledge_page, methods=["GET"]),
        Route("/knowledge/trash", trash_page, methods=["GET"]),
        Route("/knowledge/trash/restore", restore, methods=["POST"]),
        Route("/knowledge/doc/{doc_id}", document_page, methods=["GET"]),
        Route("/knowledge/doc/{doc_id}/edit", edit, methods=["POST"]),
        Route("/knowledge/doc/{doc_id}/disable", disable, methods=["POST"]),
        Route("/knowledge/doc/{doc_id}/enable", enable, methods=["POST"]),
        Route("/knowledge/doc/{doc_id}/delete", delete, methods=["POST"]),
    ]
