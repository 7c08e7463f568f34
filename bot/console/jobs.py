"""Background work of the console: running the test set, adding uploaded files, publishing a new index.

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
from index.settings import Settings

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


def embedder_of(assistant: Any) -> Any | None:
    """The assistant's loaded embedding model, so publishing does not load a second copy."""
    return getattr(assistant, "embedder", None) or getattr(getattr(assistant, "searcher", None), "embedder", None)


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


@dataclass
class PublishRun:
    """The publish (incremental refresh) in progress or last finished, one at a time, shared by all officers."""

    running: bool = False
    phase: str = ""  # refresh | reload
    started: float = 0.0  # time.time(): compared with the version folders' times to tell the step
    finished: float | None = None
    by: str | None = None
    report: Any = None  # index.refresh.RefreshReport of the last run
    error: str | None = None
    serving: str | None = None  # the version the console's assistant answers from after the run
    live: bool = False  # the console's assistant follows new versions by itself
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def seconds(self) -> float:
        return (self.finished or time.time()) - self.started if self.started else 0.0

    def start(self, settings: Settings, assistant: Any, user: str) -> bool:
        with self.lock:
            if self.running:
                return False
            self.running, self.phase, self.started, self.finished = True, "refresh", time.time(), None
            self.by, self.report, self.error, self.serving = user, None, None, None
        reload = getattr(assistant, "maybe_reload", None)
        self.live = callable(reload)

        def work() -> None:
            from index.refresh import refresh

            try:
                report = refresh(settings, embedder=embedder_of(assistant), show_progress=False)
                self.report = report
                if report.published and callable(reload):
                    self.phase = "reload"
                    reload(wait=True)  # the console answers from the new version as soon as the page says so
            except Exception as exc:  # busy, unreadable folder, model error: shown; the live index is untouched
                self.error = str(exc) or type(exc).__name__
            finally:
                self.serving = getattr(assistant, "version", None)
                self.finished = time.time()
                self.running = False

        threading.Thread(target=work, name="console-publish", daemon=True).start()
        return True

    def step(self, data_dir: Path) -> str:
        """What the running publish is doing, read from the version folders it writes (refresh has no callback)."""
        if self.phase == "reload":
            return "Đang chuyển trợ lý sang phiên bản mới"
        from index import store

        current = store.current_version(data_dir)
        try:
            fresh = [p.name for p in store.indexes_dir(data_dir).iterdir()
                     if p.is_dir() and p.stat().st_mtime >= self.started - 1 and p.name != current]
        except OSError:
            fresh = []
        if any(not n.endswith(".partial") for n in fresh):
            return "Đang kiểm tra phiên bản mới (tìm từng văn bản theo tiêu đề, chạy bộ câu hỏi kiểm tra)"
        if fresh:
            return "Đang ghi phiên bản mới"
        return "Đang đọc thư mục tri thức và nhúng các đoạn mới"
