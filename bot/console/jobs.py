"""Background work of the console: running the test set and adding uploaded files (publishing: candidate.py).

Each job runs in a thread and reports its progress so a page can show it; one of each kind at a time.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from starlette.requests import Request

from bot.console import evalset
from bot.types import Answer
from index.documents import KnowledgeError

RE_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')  # characters a file name must not carry


class _Counting:
    """Passes questions to the assistant and counts them, so the page can show progress of a run."""

    def __init__(self, assistant: Any, on_answer) -> None:
        self.assistant = assistant
        self.on_answer = on_answer

    def answer(self, question: str, mode: str = "hybrid") -> Answer:
        result = (self.assistant.answer(question) if mode == "hybrid"
                  else self.assistant.answer(question, mode=mode))
        self.on_answer()
        return result


@dataclass
class EvalRun:
    """The test-set run in progress (one at a time), shared by all officers."""

    running: bool = False
    done: int = 0
    total: int = 0
    started: float = 0.0
    error: str | None = None
    by: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, assistant: Any, path: Path, folder: Path, user: str) -> bool:
        from bot.evaluate import evaluate, load_items

        with self.lock:
            if self.running:
                return False
            try:
                eval_items = load_items(path)  # what `cchc eval` reads: the page and the command agree
                items = evalset.load(path)
            except Exception as exc:  # the YAML may be broken by a hand edit
                self.error = f"Không đọc được tệp câu hỏi: {exc}"
                return False
            self.running, self.done, self.total = True, 0, len(eval_items)
            self.started, self.error, self.by = time.monotonic(), None, user

        def step() -> None:
            self.done += 1

        def work() -> None:
            try:
                report = evaluate(_Counting(assistant, step), eval_items)
                evalset.record_run(folder, path, items, report, time.monotonic() - self.started)
            except Exception as exc:  # shown on the page; the console keeps serving
                self.error = f"Lỗi khi chạy bộ câu hỏi: {exc}"
            finally:
                self.running = False

        threading.Thread(target=work, name="console-eval", daemon=True).start()
        return True


def upload_name(filename: str) -> str:
    """The uploaded file's own name, without any folder a browser sent and without characters a path forbids."""
    name = unicodedata.normalize("NFC", PureWindowsPath(filename or "").name)  # drops any folder part
    name = RE_UNSAFE_NAME.sub("_", name).strip(" ").rstrip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem[:120].strip(" .") or "tai-len"
    return f"{stem}.{suffix.lower()}" if suffix else stem


class UploadTooLarge(Exception):
    """The request body passed the upload limit while it was being read."""


def limited_request(request: Request, limit: int) -> Request:
    """The same request, but reading its body stops with UploadTooLarge past `limit` bytes (even without
    a Content-Length header), so a huge upload is never spooled to disk whole."""
    received = 0
    receive = request.receive

    async def counting_receive():
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise UploadTooLarge
        return message

    return Request(request.scope, counting_receive)


class Uploads:
    """Adds uploaded files to the knowledge folder through `index.ingest.add_file`, as `cchc knowledge add` does.

    One upload at a time (two officers adding the same plan must not both pass the duplicate check);
    the ids of documents created here are remembered so an officer can take back one not yet published.
    """

    def __init__(self, knowledge_dir: Path) -> None:
        self.knowledge_dir = Path(knowledge_dir)
        self.created: dict[str, Path] = {}
        self.lock = threading.Lock()

    def add(self, source: Any, name: str, doc_id: str | None, update: bool) -> Any:
        """Save the upload to a private temp folder under its own name, then add it; raises KnowledgeError."""
        from index.ingest import add_file, indexed_documents
        from index.sandbox import extract_limited

        folder = Path(tempfile.mkdtemp(prefix="cchc-upload-"))
        try:
            path = folder / name
            with open(path, "wb") as out:
                shutil.copyfileobj(source, out)
            extraction = extract_limited(path)  # a limited child process, outside the lock: no upload waits on it
            with self.lock:
                if doc_id:
                    known = {d.id for _, d in indexed_documents(self.knowledge_dir)}
                    plan_file = self.knowledge_dir / "plans" / f"{doc_id}.md"
                    if update and not plan_file.exists():
                        raise KnowledgeError(
                            f"Không có văn bản '{doc_id}' trong thư mục kế hoạch để cập nhật. Hãy kiểm tra mã văn "
                            "bản ở trang Tri thức, hoặc bỏ chọn “bản sửa” để thêm như văn bản mới.")
                    if not update and doc_id in known:
                        raise KnowledgeError(
                            f"Mã văn bản '{doc_id}' đã có. Nếu đây là bản sửa của văn bản đó, hãy chọn “bản sửa”; "
                            "nếu là văn bản khác, hãy đặt mã khác hoặc để trống để tự đặt.")
                result = add_file(path, self.knowledge_dir, doc_id=doc_id, update=update, extraction=extraction)
                if not update:
                    self.created[result.document.id] = result.path
                return result
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def discard(self, doc_id: str, not_indexed: set[str]) -> Path | None:
        """Delete a document this console created and the index does not serve yet; None if not allowed."""
        with self.lock:
            path = self.created.get(doc_id)
            if path is None or doc_id not in not_indexed or not path.is_file():
                return None
            path.unlink()
            del self.created[doc_id]
            return path
