"""Chaos cases for files and disks (loaded by scripts/chaos.py): a refresh on a full disk, hostile files in the
inbox beside a good plan, the inbox run killed while checking. Each keeps a validated index serving."""
from __future__ import annotations

import contextlib
import errno
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from chaos import (CHILD_TIMEOUT, NEW_PLAN_MD, NEW_PLAN_TXT, NEW_QUESTION, ROOT, Case, Context, Outcome, child_env,
                   next_refresh)
from index import store
from index.settings import Settings


@contextlib.contextmanager
def tiny_disk(path: Path, megabytes: int):
    """A real small tmpfs when this process may mount one (root); else None (the caller injects ENOSPC)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
                             capture_output=True).returncode == 0 if shutil.which("mount") else False
    try:
        yield path if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 65536)
    return filler


def disk_full(ctx: Context) -> Outcome:
    import index.store as store_module

    size = 3 + int(sum(p.stat().st_size for p in (ctx.base / "data").rglob("*") if p.is_file()) / 1e6 * 2)
    with tiny_disk(ctx.workdir("disk-full") / "disk", size) as disk:
        settings = ctx.fresh("disk-full", data_parent=disk)
        (settings.knowledge_dir / "plans" / "kh-cchc-hoa-khanh-2026.md").write_text(NEW_PLAN_MD, encoding="utf-8")
        before = sorted(p.name for p in store.indexes_dir(settings.data_dir).iterdir())
        how = f"tmpfs {size} MB thật" if disk else "ENOSPC giả lập"
        original = store_module.faiss.write_index
        filler = _fill(disk) if disk else None
        if not disk:
            def no_space(*args, **kwargs):
                raise OSError(errno.ENOSPC, "No space left on device")
            store_module.faiss.write_index = no_space
        try:
            next_refresh(ctx, settings)
            message = "không báo lỗi!"
        except store.DiskFull as exc:
            message = "báo 'Hết dung lượng đĩa'" if "Hết dung lượng đĩa" in str(exc) else f"báo khác: {exc}"
        finally:
            store_module.faiss.write_index = original
        left = sorted(p.name for p in store.indexes_dir(settings.data_dir).iterdir())
        served, ok = ctx.served(settings)
        if filler:
            filler.unlink()
        report = next_refresh(ctx, settings)
        after, after_ok = ctx.served(settings, [NEW_QUESTION])
        clean = left == before
        return Outcome(f"{how}: {message}, {'không để lại thư mục dở' if clean else 'CÒN THƯ MỤC DỞ'}; {served}; "
                       f"sau khi dọn đĩa: {after}",
                       "không mất gì" if report.published and after_ok else "kế hoạch mới không lên được",
                       ok and clean and message.startswith("báo 'Hết") and after_ok)


def _run_inbox(settings: Settings, inbox: Path, ctx: Context) -> subprocess.CompletedProcess:
    args = [sys.executable, str(ROOT / "scripts" / "refresh_inbox.py"), "--inbox", str(inbox), "--settle", "0"]
    return subprocess.run(args + ([] if ctx.run_eval else ["--no-eval"]), capture_output=True, text=True,
                          env=child_env(settings), cwd=inbox.parent, timeout=CHILD_TIMEOUT)


def inbox_poison(ctx: Context) -> Outcome:
    from hostile_files import deep_pdf, many_pages_pdf, zip_bomb_docx

    settings = ctx.fresh("inbox-poison")
    inbox = settings.knowledge_dir.parent / "inbox"
    deep_pdf(inbox / "cay-trang-sau.pdf", 150)
    zip_bomb_docx(inbox / "bom-nen.docx", 50)
    many_pages_pdf(inbox / "nhieu-trang.pdf", 5000)
    (inbox / "kh-cchc-hoa-khanh-2026.txt").write_text(NEW_PLAN_TXT, encoding="utf-8")
    started = time.monotonic()
    done = _run_inbox(settings, inbox, ctx)
    seconds = time.monotonic() - started
    failed = sorted(p.name for p in (inbox / "failed").glob("*") if not p.name.endswith(".reason.txt")) \
        if (inbox / "failed").is_dir() else []
    reasons = len(list((inbox / "failed").glob("*.reason.txt"))) if (inbox / "failed").is_dir() else 0
    published = (inbox / "done" / "kh-cchc-hoa-khanh-2026.txt").exists()
    served, ok = ctx.served(settings, [NEW_QUESTION])
    lost = "không mất gì" if published else "KẾ HOẠCH TỐT KHÔNG ĐƯỢC XUẤT BẢN"
    return Outcome(f"mã thoát {done.returncode} sau {seconds:.0f} s; {len(failed)} tệp độc vào failed/ "
                   f"({reasons} lý do); {served}", lost + f" (từ chối {len(failed)} tệp độc)",
                   ok and published and len(failed) == 3 and reasons == 3)


def inbox_killed(ctx: Context) -> Outcome:
    settings = ctx.fresh("inbox-killed")
    inbox = settings.knowledge_dir.parent / "inbox"
    inbox.mkdir()
    (inbox / "kh-cchc-hoa-khanh-2026.txt").write_text(NEW_PLAN_TXT, encoding="utf-8")
    code = textwrap.dedent("""
        import os, runpy, signal, sys
        from index import refresh as r
        r.STAGE_HOOK = lambda name: os.kill(os.getpid(), signal.SIGKILL) if name == "validating" else None
        sys.argv = sys.argv[1:]
        runpy.run_path(sys.argv[0], run_name="__main__")
    """)
    killed = subprocess.run([sys.executable, "-c", code, str(ROOT / "scripts" / "refresh_inbox.py"), "--inbox",
                             str(inbox), "--settle", "0", "--no-eval"], capture_output=True, text=True,
                            env=child_env(settings), cwd=inbox.parent, timeout=CHILD_TIMEOUT)
    again = _run_inbox(settings, inbox, ctx)
    published = (inbox / "done" / "kh-cchc-hoa-khanh-2026.txt").exists() and not (inbox / "failed").exists()
    served, ok = ctx.served(settings, [NEW_QUESTION])
    return Outcome(f"lần 1 mã {killed.returncode}, lần 2 mã {again.returncode}; {served}",
                   "không mất gì" if published else "kế hoạch bị coi là trùng/bị mất",
                   ok and published and killed.returncode == -signal.SIGKILL)


CASES = [Case("disk-full-refresh", disk_full, True, "đĩa đầy khi làm mới chỉ mục"),
         Case("inbox-poison", inbox_poison, True, "tệp độc trong hộp thư đến cùng một kế hoạch tốt"),
         Case("inbox-killed", inbox_killed, False, "hộp thư đến bị SIGKILL khi đang kiểm tra, lần sau chạy lại")]
