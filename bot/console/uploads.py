"""Upload a new document from the console: the same path as `cchc knowledge add` (extract in a limited child
process, clean, propose metadata), then the officer checks the proposal on the document's page and publishes.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.audit import note
from bot.console.auth import checked_form
from bot.console.jobs import UploadTooLarge, Uploads, limited_request, upload_name
from bot.console.knowledge import read_knowledge
from bot.console.roles import require
from index.documents import KnowledgeError
from index.settings import Settings

log = logging.getLogger(__name__)

# One file of at most 20 MB, in the formats `cchc knowledge add` reads.
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
UPLOAD_BODY_LIMIT = UPLOAD_MAX_BYTES + 256 * 1024  # the file plus the form's other fields and multipart framing
UPLOAD_SUFFIXES = (".pdf", ".docx", ".doc", ".txt", ".md")
UPLOAD_FORMATS = "PDF (có lớp chữ), DOCX, DOC, TXT hoặc MD"
RE_DOC_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")  # becomes a file name: slugs only
FIELD_NAMES = {"title": "Tiêu đề", "type": "Loại văn bản", "number": "Số văn bản", "date": "Ngày ký",
               "ward": "Xã/phường", "city": "Tỉnh/thành phố", "period": "Thời kỳ", "signer": "Người ký",
               "replaces": "Thay thế văn bản"}
TOO_LARGE = (f"Tệp quá lớn: tối đa {UPLOAD_MAX_BYTES // (1024 * 1024)} MB. Văn bản kế hoạch thường nhỏ hơn nhiều; "
             "nếu tệp có nhiều ảnh, hãy lưu lại không kèm ảnh hoặc xuất ra PDF có lớp chữ.")


def routes(render: Callable, redirect: Callable, settings: Settings) -> list[Route]:
    uploads = Uploads(settings.knowledge_dir)

    async def upload_view(request: Request, status: int = 200, result: Any = None, error: str | None = None,
                          hint: str | None = None, doc_id: str = "", update: bool = False) -> Response:
        view = await run_in_threadpool(read_knowledge, settings)
        body = None
        if result is not None:
            text = await run_in_threadpool(result.path.read_text, encoding="utf-8")
            body = (text.partition("\n---\n")[2] if text.startswith("---") else text).strip()[:3000]
        return render(request, "upload.html", status=status, view=view, result=result, body=body,
                      error=error, hint=hint, doc_id=doc_id, update=update, field_names=FIELD_NAMES,
                      max_bytes=UPLOAD_MAX_BYTES, suffixes=UPLOAD_SUFFIXES, formats=UPLOAD_FORMATS,
                      created=set(uploads.created), pending=view.pending)

    async def upload_page(request: Request) -> Response:
        return await upload_view(request)

    async def upload(request: Request) -> Response:
        try:
            declared = int(request.headers.get("content-length") or 0)
        except ValueError:
            declared = 0
        if declared > UPLOAD_BODY_LIMIT:
            return await upload_view(request, status=413, error=TOO_LARGE)
        try:
            form = await checked_form(limited_request(request, UPLOAD_BODY_LIMIT))
        except UploadTooLarge:
            return await upload_view(request, status=413, error=TOO_LARGE)
        require(request, "editor")
        file = form.get("file")
        doc_id = str(form.get("doc_id", "")).strip().lower()
        update = form.get("update") == "1"

        def refused(message: str, status: int = 400, hint: str | None = None):
            return upload_view(request, status=status, error=message, hint=hint, doc_id=doc_id, update=update)

        if not isinstance(file, UploadFile):
            return await refused("Hãy chọn một tệp văn bản để tải lên.")
        try:
            if not file.filename:
                return await refused("Hãy chọn một tệp văn bản để tải lên.")
            name = upload_name(file.filename)
            suffix = Path(name).suffix.lower()
            if suffix not in UPLOAD_SUFFIXES:
                return await refused(f"{name}: định dạng {suffix or '(không có đuôi tệp)'} chưa được hỗ trợ; "
                                     f"hãy dùng {UPLOAD_FORMATS}. Ảnh chụp hay bản quét cần nhận dạng chữ (OCR) "
                                     "trước.")
            if (file.size or 0) > UPLOAD_MAX_BYTES:
                return await refused(TOO_LARGE, 413)
            if doc_id and not RE_DOC_ID.match(doc_id):
                return await refused("Mã văn bản chỉ gồm chữ thường không dấu, số và dấu gạch ngang "
                                     "(ví dụ kh-cchc-an-hai-2026), tối đa 100 ký tự.")
            if update and not doc_id:
                return await refused("Hãy ghi mã của văn bản cần cập nhật (xem ở trang Tri thức).")
            try:
                result = await run_in_threadpool(uploads.add, file.file, name, doc_id or None, update)
            except (KnowledgeError, OSError) as exc:
                # The CLI's advice names `--id … --update`; on this page the same is the two fields below.
                message = str(exc).split(" Nếu đây là bản sửa")[0] if "--update" in str(exc) else str(exc)
                hint = ("Nếu đây là bản sửa của văn bản đã có: ghi mã văn bản đó vào ô “Mã văn bản”, chọn “Đây "
                        "là bản sửa…” rồi tải lên lại." if "--update" in str(exc) else None)
                return await refused(message, hint=hint)
            except Exception as exc:  # a reader library failing in a way ingest does not know: still a bad file
                log.exception("upload %s could not be read", name)
                return await refused(f"{name}: không đọc được tệp ({type(exc).__name__}). Hãy mở bằng chương trình "
                                     "gốc, lưu lại dạng DOCX hoặc PDF có lớp chữ rồi tải lên lại.")
        finally:
            await file.close()
        d = result.document
        note(request, "document.update" if update else "document.add", f"{d.title} ({d.id})", f"Tải lên tệp {name}")
        return await upload_view(request, result=result)

    async def upload_discard(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        doc_id = str(form.get("doc_id", ""))
        view = await run_in_threadpool(read_knowledge, settings)
        not_indexed = {d.id for d in view.documents if d.state == "not_indexed"}
        removed = await run_in_threadpool(uploads.discard, doc_id, not_indexed)
        if removed is None:
            return redirect("/knowledge/upload", (
                "error", f"Không gỡ được '{doc_id}': chỉ gỡ được văn bản vừa tải lên ở đây và chưa xuất bản."),
                request)
        note(request, "document.discard", doc_id, "Gỡ văn bản vừa tải lên, chưa xuất bản")
        return redirect("/knowledge/upload", ("ok", f"Đã gỡ văn bản '{doc_id}' khỏi thư mục tri thức."), request)

    return [Route("/knowledge/upload", upload_page, methods=["GET"]),
            Route("/knowledge/upload", upload, methods=["POST"]),
            Route("/knowledge/upload/discard", upload_discard, methods=["POST"])]
