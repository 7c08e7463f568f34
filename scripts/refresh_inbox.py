#!/usr/bin/env python3
"""Scheduled refresh: add every file dropped in an inbox folder, then publish a checked index.

Run it from cron or a systemd timer (examples in the README). Each file ends in `done/` or in
`failed/` next to a `<name>.reason.txt` that says why in Vietnamese. If the new index fails its
checks, the documents added in this run are taken back out of the knowledge folder (moved to
`failed/` with the reason), so the knowledge folder and the live index stay in step and the next
run does not retry a known-bad change. Exit status: 0 all went in, 1 something failed, 2 busy.

    python scripts/refresh_inbox.py [--inbox DIR] [--settle SECONDS] [--no-eval] [--progress]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.documents import KnowledgeError  # noqa: E402
from index.ingest import add_file  # noqa: E402
from index.refresh import RefreshBusy, refresh  # noqa: E402
from index.settings import Settings, get_settings  # noqa: E402
from index.store import IndexUnavailable  # noqa: E402

SKIP_PREFIXES = (".", "~$")  # hidden files, Word lock files


def default_inbox(settings: Settings) -> Path:
    return Path(getattr(settings, "inbox_dir", None) or settings.data_dir / "inbox")


def _move(path: Path, folder: Path) -> Path:
    """Move into folder without overwriting an earlier file of the same name."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{datetime.now():%Y%m%d-%H%M%S}{path.suffix}"
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


def run(settings: Settings, inbox: Path, settle: float = 10.0, run_eval: bool = True,
        show_progress: bool = False, embedder=None) -> int:
    inbox.mkdir(parents=True, exist_ok=True)
    done, failed = inbox / "done", inbox / "failed"
    files = pending_files(inbox, settle)
    added: list[tuple[Path, Path]] = []  # (inbox file, knowledge document)
    status = 0
    for path in files:
        try:
            result = add_file(path, settings.knowledge_dir)
        except (KnowledgeError, OSError) as exc:
            print(f"✗ {path.name}: {exc}")
            _fail(path, failed, str(exc))
            status = 1
            continue
        print(f"+ {path.name} → {result.path.name}" + (f" (chưa đọc được: {', '.join(result.missing)})"
                                                       if result.missing else ""))
        for note in result.notes:
            print(f"    {note}")
        added.append((path, result.path))
    try:
        report = refresh(settings, embedder=embedder, show_progress=show_progress, run_eval=run_eval)
    except RefreshBusy as exc:
        print(f"Bỏ qua lần này: {exc}")
        return 2  # files already added stay in the inbox flow: the next run refreshes them
    except (KnowledgeError, IndexUnavailable) as exc:
        report = None
        problems = [str(exc)]
    else:
        problems = report.problems
    if report is not None and report.published:
        print(f"Đã chuyển sang phiên bản {report.version}: {report.documents} văn bản, {report.chunks} đoạn, "
              f"nhúng mới {report.embedded_now} đoạn, {report.seconds:.1f} giây.")
    elif report is not None and report.up_to_date:
        print(f"Chỉ mục đã mới nhất ({report.version}).")
    if problems:
        reason = "Chỉ mục mới không đạt kiểm tra, chỉ mục cũ vẫn phục vụ:\n" + "\n".join(f"- {p}" for p in problems)
        print(reason)
        for path, document in added:
            _move(document, failed)  # take the change back out: knowledge stays equal to the live index
            _fail(path, failed, reason + f"\n(Văn bản đã tạo được chuyển vào {failed / document.name}.)")
        return 1
    for path, _ in added:
        _move(path, done)
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
