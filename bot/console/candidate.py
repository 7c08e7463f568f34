"""Publishing from the console in two steps: check a new version against the live one, then publish or cancel.

The check (`index.refresh.prepare`) builds the new version beside the live one, runs the same checks as
`cchc index refresh`, and answers every test question on both versions; the officer sees which answers got
better, worse or cite another source before anything reaches citizens. The waiting version and its comparison
are kept on disk, so a console restart does not lose them; publishing re-checks that neither the knowledge
folder nor the live version changed meanwhile. One check, publish or rollback at a time.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.console import diff
from bot.console.knowledge import without_paths
from index import store
from index.settings import Settings

PENDING_FILE = "publish-pending.json"


def embedder_of(assistant: Any) -> Any | None:
    """The assistant's loaded embedding model, so publishing does not load a second copy."""
    return getattr(assistant, "embedder", None) or getattr(getattr(assistant, "searcher", None), "embedder", None)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def summary_of(pending: dict) -> str:
    """One line for the history: what changed in the knowledge and what it did to the test questions."""
    ch, titles = pending["changes"], pending["titles"]
    parts = []
    for key, verb in (("added", "thêm"), ("changed", "sửa"), ("disabled", "tắt"), ("deleted", "xoá")):
        if ch.get(key):
            names = ", ".join(titles.get(i, i) for i in ch[key][:3]) + ("…" if len(ch[key]) > 3 else "")
            parts.append(f"{verb} {len(ch[key])} văn bản ({names})")
    if ch.get("lexicon"):
        parts.append("sửa từ điển (viết tắt, cách nói)")
    counts = pending["diff"]["counts"]
    moved = ", ".join(f"{n} {diff.STATUSES[k][0].lower()}" for k, n in counts.items() if n)
    line = "; ".join(parts) or "không đổi văn bản"
    return line + (f". Câu hỏi kiểm tra: {moved}" if moved else ". Câu hỏi kiểm tra: không câu nào thay đổi")


@dataclass
class PublishRun:
    """The check in progress, the version waiting for a decision, and the last outcome; shared by all officers."""

    folder: Path  # the console folder (the waiting comparison is kept there)
    running: bool = False
    started: float = 0.0
    finished: float | None = None
    by: str | None = None
    error: str | None = None
    outcome: dict | None = None  # the last check that produced nothing to publish (up to date, failed checks)
    published: dict | None = None  # the last version published here, with its comparison (shown with rollback)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def seconds(self) -> float:
        return (self.finished or time.time()) - self.started if self.started else 0.0

    # -- the waiting version ------------------------------------------------------------------
    @property
    def _file(self) -> Path:
        return self.folder / PENDING_FILE

    def pending(self, data_dir: Path) -> dict | None:
        """The checked version waiting for a decision, if it is still on disk and unpublished."""
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if store.version_state(Path(data_dir), data.get("version", "")) != "validated":
            self._file.unlink(missing_ok=True)  # another refresh removed it (or it was published elsewhere)
            return None
        return data

    def _keep(self, pending: dict | None) -> None:
        if pending is None:
            self._file.unlink(missing_ok=True)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_name(f".{PENDING_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(pending, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self._file)

    # -- check ------------------------------------------------------------------------------
    def start(self, settings: Settings, assistant: Any, eval_path: Path | None, user: str,
              titles: dict[str, str], disabled: set[str]) -> bool:
        """Build and check a new version in the background; False when a check is already running."""
        with self.lock:
            if self.running:
                return False
            self.running, self.started, self.finished = True, time.time(), None
            self.by, self.error, self.outcome = user, None, None

        def work() -> None:
            from index.refresh import discard_prepared, prepare

            try:
                old = self.pending(settings.data_dir)
                if old is not None:  # a newer check replaces a waiting version nobody decided on
                    discard_prepared(settings, old["version"])
                    self._keep(None)
                report = prepare(settings, embedder=embedder_of(assistant), eval_file=eval_path)
                result = self._result(report, user, titles, disabled)
                if report.candidate:
                    self._keep(result)
                else:
                    self.outcome = result
            except Exception as exc:  # busy, unreadable folder, model error: shown; the live index is untouched
                self.error = without_paths(str(exc), settings) or type(exc).__name__
            finally:
                self.finished = time.time()
                self.running = False

        threading.Thread(target=work, name="console-publish-check", daemon=True).start()
        return True

    @staticmethod
    def _result(report: Any, user: str, titles: dict[str, str], disabled: set[str]) -> dict:
        live, new = report.eval_reports.get("live"), report.eval_reports.get("new")
        comparison = diff.compare(live, new, titles) if new is not None else {
            "rows": [], "counts": {k: 0 for k in diff.STATUSES}, "total": 0, "unchanged": 0}
        removed = list(report.removed)
        return {
            "version": report.candidate, "live": report.previous, "checked_at": _now(), "by": user,
            "up_to_date": report.up_to_date, "problems": list(report.problems),
            "changes": {"added": report.added, "changed": report.changed,
                        "disabled": [d for d in removed if d in disabled],
                        "deleted": [d for d in removed if d not in disabled],
                        "lexicon": bool(getattr(report, "lexicon_changed", False))},
            "titles": {d: titles.get(d, d) for d in (*report.added, *report.changed, *removed)},
            "metrics": {"live": report.checks.get("eval_live"), "new": report.checks.get("eval_new")},
            "documents": report.documents, "chunks": report.chunks, "seconds": round(report.seconds, 1),
            "diff": comparison,
        }

    def step(self, data_dir: Path) -> str:
        """What the running check is doing, read from the version folders it writes."""
        current = store.current_version(data_dir)
        try:
            fresh = [p.name for p in store.indexes_dir(data_dir).iterdir()
                     if p.is_dir() and p.stat().st_mtime >= self.started - 1 and p.name != current]
        except OSError:
            fresh = []
        if any(not n.endswith(".partial") for n in fresh):
            return "Đang kiểm tra phiên bản mới (tìm từng văn bản theo tiêu đề, trả lời bộ câu hỏi kiểm tra)"
        if fresh:
            return "Đang ghi phiên bản mới"
        return "Đang đọc kho tri thức và nhúng các đoạn mới"

    # -- decide -----------------------------------------------------------------------------
    def publish(self, settings: Settings, assistant: Any, version: str, user: str) -> dict:
        """Publish the waiting version (CandidateGone when it is stale) and switch the console's assistant."""
        from index.refresh import publish_prepared

        with self.lock:
            if self.running:
                raise RuntimeError("Đang kiểm tra một thay đổi khác, hãy chờ xong.")
            pending = self.pending(settings.data_dir)
            if pending is None or pending["version"] != version:
                self._keep(None)
                from index.refresh import CandidateGone

                raise CandidateGone("Phiên bản chờ xuất bản không còn nữa. Hãy kiểm tra lại thay đổi.")
            summary = summary_of(pending)
            try:
                publish_prepared(settings, version, published_by=user, published_at=_now(), summary=summary)
            finally:
                if store.version_state(settings.data_dir, version) != "validated":
                    self._keep(None)
        _reload(assistant)
        self.published = {**pending, "summary": summary, "published_at": _now(), "published_by": user}
        self.outcome = None
        return self.published

    def cancel(self, settings: Settings, version: str) -> bool:
        from index.refresh import discard_prepared

        with self.lock:
            pending = self.pending(settings.data_dir)
            if pending is None or pending["version"] != version:
                return False
            discard_prepared(settings, version)
            self._keep(None)
            return True

    def rollback(self, settings: Settings, assistant: Any) -> Any:
        """Serve the previous version again (index.refresh.rollback) and switch the console's assistant."""
        from index.refresh import rollback

        with self.lock:
            if self.running:
                raise RuntimeError("Đang kiểm tra một thay đổi, hãy chờ xong rồi quay lại phiên bản trước.")
            self._keep(None)  # a rollback clears the unpublished version (it was compared with another live one)
            report = rollback(settings)
            self.published = None
        _reload(assistant)
        return report


def _reload(assistant: Any) -> None:
    reload = getattr(assistant, "maybe_reload", None)
    if callable(reload):
        reload(wait=True)  # the console answers from the new version as soon as the page says so
