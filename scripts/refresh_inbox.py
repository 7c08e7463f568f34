#!/usr/bin/env python3
"""Scheduled refresh: add every file dropped in an inbox folder, then publish a checked index.

Run it from cron or a systemd timer (examples in the README). Each file is handled on its own: one
that cannot be read (broken, hostile, over a limit of `index.sandbox`) goes to `failed/` next to a
`<name>.reason.txt` that says why in Vietnamese, and the others go on. A file that was added waits
in `.added/` until the index that contains it is published, so a run that stops half-way (killed,
busy, disk full) is finished by the next run instead of the file being refused as a duplicate.
If the new index fails its checks, the documents of this run are taken back out of the knowledge
folder; when there were several, each is then tried alone, so one bad document does not take the
good ones down with it. Exit status: 0 all went in, 1 something failed, 2 busy.

    python scripts/refresh_inbox.py [--inbox DIR] [--settle SECONDS] [--no-eval] [--progress]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.documents import KnowledgeError  # noqa: E402
from index.ingest import add_file  # noqa: E402
from index.refresh import RefreshBusy, refresh  # noqa: E402
from index.settings import Settings, get_settings  # noqa: E402
from index.store import DiskFull, IndexUnavailable  # noqa: E402

SKIP_PREFIXES = (".", "~$")  # hidden files, Word lock files
STAGED = ".added"  # inbox files whose document is in the knowledge folder but not yet published
NOTE = ".knowledge-path"  # beside a staged file: where its document was written


def default_inbox(settings: Settings) -> Path:
    return Path(getattr(settings, "inbox_dir", None) or settings.data_dir / "inbox")


def _move(path: Path, folder: Path) -> Path:
    """Move into folder without overwriting an earlier file of the same name."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{datetime.now():%Y%m%d-%H%M%S-%f}{path.suffix}"
    shutil.move(str(path), target)
    return target


def _fail(path: Path, failed: Path, reason: str) -> None:
    moved = _move(path, failed)
    moved.with_name(moved.name + ".reason.txt").write_text(reason.strip() + "\n", encoding="utf-8")


def pending_files(inbox: Path, settle: float) -> list[Path]:
    """Files ready to take: not hidden, not still being copied (unchanged for `settle` seconds)."""
    now = time.time()
    return sorted(
        p for p in inbox.iterdir()
        if p.is_file() and not p.name.startswith(SKIP_PREFIXES) and not p.name.endswith(".reason.txt")
        and now - p.stat().st_mtime >= settle
    )


@dataclass
class Staged:
    """An inbox file whose document was written to the knowledge folder."""

    file: Path  # in inbox/.added/
    document: Path  # in the knowledge folder

    @property
    def note(self) -> Path:
        return self.file.with_name(self.file.name + NOTE)

    @property
    def held(self) -> Path:  # where the document waits while another one is tried alone
        return self.file.with_name(self.file.name + ".held.md")


def stage(path: Path, document: Path, folder: Path) -> Staged:
    moved = _move(path, folder)
    entry = Staged(moved, document)
    entry.note.write_text(str(document) + "\n", encoding="utf-8")
    return entry


def staged_files(folder: Path) -> list[Staged]:
    """This run's added files and those of an earlier run that stopped before publishing."""
    if not folder.is_dir():
        return []
    out = []
    for note in sorted(folder.glob("*" + NOTE)):
        entry = Staged(note.with_name(note.name.removesuffix(NOTE)),
                       Path(note.read_text(encoding="utf-8").strip()))
        if entry.held.exists() and not entry.document.exists():
            shutil.move(str(entry.held), entry.document)  # a run stopped while trying documents alone
        if entry.file.exists():
            out.append(entry)
    return out


def finish(entry: Staged, done: Path) -> None:
    _move(entry.file, done)
    entry.note.unlink(missing_ok=True)


def reject(entry: Staged, failed: Path, reason: str) -> None:
    """Take the document back out (knowledge stays equal to the live index) and explain why."""
    for document in (entry.document, entry.held):
        if document.exists():
            _move(document, failed)
    _fail(entry.file, failed, reason + f"\n(Văn bản đã tạo được chuyển vào {failed / entry.document.name}.)")
    entry.note.unlink(missing_ok=True)


def try_refresh(settings: Settings, embedder, run_eval: bool, show_progress: bool):
    """(report or None, problems, retry later?)"""
    try:
        report = refresh(settings, embedder=embedder, show_progress=show_progress, run_eval=run_eval)
    except RefreshBusy as exc:
        print(f"Bỏ qua lần này: {exc}")
        return None, [], True
    except DiskFull as exc:
        print(f"Bỏ qua lần này: {exc}")
        return None, [], True
    except (KnowledgeError, IndexUnavailable) as exc:
        return None, [str(exc)], False
    except Exception as exc:  # an unknown failure must not leave the inbox stuck on every run
        return None, [f"Lỗi khi làm mới chỉ mục ({type(exc).__name__}: {exc})."], False
    if report.published:
        print(f"Đã chuyển sang phiên bản {report.version}: {report.documents} văn bản, {report.chunks} đoạn, "
              f"nhúng mới {report.embedded_now} đoạn, {report.seconds:.1f} giây.")
    elif report.up_to_date:
        print(f"Chỉ mục đã mới nhất ({report.version}).")
    return report, list(report.problems), False


def _why(problems: list[str]) -> str:
    return "Chỉ mục mới không đạt kiểm tra, chỉ mục cũ vẫn phục vụ:\n" + "\n".join(f"- {p}" for p in problems)


def one_by_one(settings: Settings, entries: list[Staged], done: Path, failed: Path, embedder, run_eval: bool,
               show_progress: bool) -> int:
    """Several documents failed together: try each alone, publish the good ones, reject the others."""
    for entry in entries:
        shutil.move(str(entry.document), entry.held)
    status = 0
    for entry in entries:
        shutil.move(str(entry.held), entry.document)
        report, problems, later = try_refresh(settings, embedder, run_eval, show_progress)
        if later:
            for rest in entries:
                if rest.held.exists():
                    shutil.move(str(rest.held), rest.document)
            return 2
        if problems:
            print(f"✗ {entry.file.name}: {problems[0]}")
            reject(entry, failed, _why(problems))
            status = 1
        else:
            finish(entry, done)
    return status


def run(settings: Settings, inbox: Path, settle: float = 10.0, run_eval: bool = True,
        show_progress: bool = False, embedder=None) -> int:
    inbox.mkdir(parents=True, exist_ok=True)
    done, failed, staging = inbox / "done", inbox / "failed", inbox / STAGED
    status = 0
    for path in pending_files(inbox, settle):
        try:
            result = add_file(path, settings.knowledge_dir)
        except Exception as exc:  # one bad file never stops the others
            reason = str(exc) if isinstance(exc, (KnowledgeError, OSError)) else (
                f"{path.name}: không đọc được tệp ({type(exc).__name__}). Hãy mở bằng chương trình gốc, lưu lại "
                "dạng DOCX hoặc PDF có lớp chữ rồi thêm lại.")
            print(f"✗ {path.name}: {reason}")
            _fail(path, failed, reason)
            status = 1
            continue
        print(f"+ {path.name} → {result.path.name}" + (f" (chưa đọc được: {', '.join(result.missing)})"
                                                       if result.missing else ""))
        for note in result.notes:
            print(f"    {note}")
        stage(path, result.path, staging)
    entries = staged_files(staging)
    report, problems, later = try_refresh(settings, embedder, run_eval, show_progress)
    if later:
        return 2  # the added files wait in .added/: the next run publishes them
    if problems:
        print(_why(problems))
        if len(entries) > 1 and report is not None:
            return max(status, one_by_one(settings, entries, done, failed, embedder, run_eval, show_progress))
        for entry in entries:
            reject(entry, failed, _why(problems))
        return 1
    for entry in entries:
        finish(entry, done)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Thêm văn bản từ thư mục hộp thư đến rồi làm mới chỉ mục.")
    parser.add_argument("--inbox", type=Path, help="thư mục hộp thư đến (mặc định $CCHC_DATA_DIR/inbox)")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="chỉ lấy tệp không đổi trong ngần ấy giây (đang chép dở thì để lần sau)")
    parser.add_argument("--no-eval", action="store_true", help="bỏ bước chạy bộ câu hỏi kiểm tra")
    parser.add_argument("--progress", action="store_true", help="hiện thanh tiến trình")
    args = parser.parse_args(argv)
    settings = get_settings()
    inbox = args.inbox or default_inbox(settings)
    return run(settings, inbox, args.settle, run_eval=not args.no_eval, show_progress=args.progress)


if __name__ == "__main__":
    raise SystemExit(main())
