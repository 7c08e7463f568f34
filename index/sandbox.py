"""Read an untrusted file in a separate, limited process, so one hostile file cannot stall the service.

A 234 KB DOCX can hold 50 MB of XML and a few-MB PDF can grow past a gigabyte while parsed. Every
file added by `cchc knowledge add`, the console upload or the inbox script is therefore read by a
child Python process (`python -m index.sandbox`) that first caps its own address space (RLIMIT_AS)
and CPU time, then checks what the file declares before any parser sees it: the size of every
member of a DOCX zip (declared and actually inflated), the number of pages and the depth of a PDF's
page tree. The parent kills the child's whole process group at the wall-clock limit, so no lock held
around an extraction can be held longer than that. A file over a limit is refused with a Vietnamese
reason that names the limit and says what to do.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from index.extract import CONVERT_TIMEOUT, Extraction, ExtractionError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CHILD_ENV = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"}
ADVICE = ("Tệp có thể bị hỏng hoặc được tạo để làm treo hệ thống nên không được đọc. Hãy mở bằng chương trình "
          "gốc, lưu/xuất lại (hoặc tách phần cần đưa vào thành tệp nhỏ hơn) rồi thêm lại.")


@dataclass
class Limits:
    """What one extraction may use. Real ward plans stay far below every figure here."""

    seconds: float = 60.0  # wall clock for PDF/DOCX/TXT (legacy .doc/.rtf/.odt get LibreOffice's timeout on top)
    memory_mb: int = 768  # address space of the child (a normal plan peaks near 100-200 MB)
    file_mb: int = 50
    pages: int = 500
    page_tree_depth: int = 32  # real PDFs use fewer than 10 levels
    zip_members: int = 2000
    xml_part_mb: int = 25  # one XML part of a DOCX, inflated
    zip_total_mb: int = 200  # all members of a DOCX, inflated
    text_chars: int = 5_000_000  # extracted text (about 1,500 printed pages)


@dataclass
class Stats:
    """How the last extraction went: for the report of a refusal, and for measurements."""

    seconds: float = 0.0
    peak_mb: float = 0.0  # peak resident memory of the child
    outcome: str = ""  # ok | refused | error | time | memory | crashed


DEFAULT_LIMITS = Limits()


class ExtractionRefused(ExtractionError):
    """The file went over a limit; `limit` names which one (time, memory, pages, depth, size, text)."""

    def __init__(self, message: str, limit: str, stats: Stats | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.stats = stats or Stats()


def _refuse(path: Path, what: str, limit: str) -> ExtractionRefused:
    return ExtractionRefused(f"{path.name}: {what}. {ADVICE}", limit)


# ------------------------------------------------------------------------- checks in the child
def check_zip(path: Path, limits: Limits) -> None:
    """Declared and actual inflated sizes of a DOCX's members, before python-docx reads them all."""
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # extract() explains a broken file better
    with archive:
        members = archive.infolist()
        if len(members) > limits.zip_members:
            raise _refuse(path, f"tệp nén có {len(members)} phần (giới hạn {limits.zip_members})", "size")
        mb = 1024 * 1024
        declared = sum(m.file_size for m in members)
        if declared > limits.zip_total_mb * mb:
            raise _refuse(path, f"tệp giải nén ra {declared / mb:.0f} MB (giới hạn {limits.zip_total_mb} MB)",
                          "size")
        for m in members:
            if m.filename.endswith((".xml", ".rels")) and m.file_size > limits.xml_part_mb * mb:
                raise _refuse(path, f"phần {m.filename} giải nén ra {m.file_size / mb:.0f} MB XML "
                                    f"(giới hạn {limits.xml_part_mb} MB)", "size")
        actual = 0
        for m in members:  # a header may lie: count what really comes out, stop at the limit
            if not m.filename.endswith((".xml", ".rels")):
                continue
            part = 0
            try:
                with archive.open(m) as fh:
                    while chunk := fh.read(1 << 20):
                        part += len(chunk)
                        if part > limits.xml_part_mb * mb or actual + part > limits.zip_total_mb * mb:
                            raise _refuse(path, f"phần {m.filename} giải nén ra hơn {limits.xml_part_mb} MB XML",
                                          "size")
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
                return  # a damaged or encrypted member: extract() says so
            actual += part


def check_pdf(path: Path, limits: Limits) -> None:
    """Walk the page tree without recursion: refuse too many pages or too deep a tree before pypdf does."""
    import logging

    from pypdf import PdfReader
    from pypdf.generic import IndirectObject

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path)
        root = reader.trailer["/Root"].get_object()["/Pages"]
        declared = root.get_object().get("/Count", 0)
    except ExtractionRefused:
        raise
    except Exception:
        return  # broken or encrypted beyond reading the catalogue: extract() explains
    if isinstance(declared, int) and declared > limits.pages:
        raise _refuse(path, f"tệp PDF khai báo {declared} trang (giới hạn {limits.pages} trang)", "pages")
    stack = [(root, 1)]
    seen: set[int] = set()
    pages = 0
    while stack:
        ref, depth = stack.pop()
        if depth > limits.page_tree_depth:
            raise _refuse(path, f"cây trang của tệp PDF lồng sâu hơn {limits.page_tree_depth} tầng", "depth")
        if isinstance(ref, IndirectObject):
            if ref.idnum in seen:
                raise _refuse(path, "cây trang của tệp PDF tự trỏ vòng lại chính nó", "depth")
            seen.add(ref.idnum)
        try:
            node = ref.get_object()
            kind = node.get("/Type")
            kids = node.get("/Kids") if kind != "/Page" else None
        except Exception:
            return
        if kids is None:
            pages += 1
            if pages > limits.pages:
                raise _refuse(path, f"tệp PDF có hơn {limits.pages} trang (giới hạn {limits.pages} trang)", "pages")
            continue
        try:
            stack.extend((kid, depth + 1) for kid in kids.get_object())
        except Exception:
            return


def _set_limits(limits: Limits) -> None:
    import resource

    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(limits.seconds + CONVERT_TIMEOUT) + 5  # a backstop only: the parent enforces wall time
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def _near_memory_limit(limits: Limits) -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmPeak:"))
    except (OSError, ValueError, StopIteration):
        return False
    return peak_kb * 1024 > 0.9 * limits.memory_mb * 1024 * 1024


def child_main(path: Path, limits: Limits) -> dict:
    """Everything the child does; returns the JSON-able answer."""
    from index.extract import extract

    _set_limits(limits)
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
        if head.startswith(b"PK\x03\x04"):
            check_zip(path, limits)
        elif b"%PDF-" in head:
            check_pdf(path, limits)
        extraction = extract(path)
        if len(extraction.text) > limits.text_chars:
            chars, limit = (f"{n:,}".replace(",", ".") for n in (len(extraction.text), limits.text_chars))
            raise _refuse(path, f"đọc ra {chars} ký tự (giới hạn {limit})", "text")
        return {"extraction": asdict(extraction)}
    except ExtractionRefused as exc:
        return {"error": str(exc), "limit": exc.limit}
    except ExtractionError as exc:
        # extract() wraps parser errors, and libxml2 reports a failed allocation as "unknown error": a parser
        # that failed with the address space nearly used up ran out of memory, whatever it says.
        if isinstance(exc.__cause__, MemoryError) or _near_memory_limit(limits):
            return {"limit": "memory"}
        return {"error": str(exc)}
    except MemoryError:
        return {"limit": "memory"}
    except RecursionError:
        return {"limit": "depth"}
    except Exception as exc:  # a reader library failing in a way extract() does not know: still a bad file
        if _near_memory_limit(limits):
            return {"limit": "memory"}
        return {"error": f"{path.name}: tệp bị hỏng hoặc không đọc được ({type(exc).__name__}). Hãy mở bằng "
                         "chương trình gốc, lưu lại dạng DOCX hoặc PDF có lớp chữ rồi thêm lại."}


# ------------------------------------------------------------------------------------- parent
def _time_limit(path: Path, limits: Limits) -> float:
    """LibreOffice conversions of .doc/.rtf/.odt have their own timeout inside the child."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return limits.seconds
    legacy = head.startswith(b"\xd0\xcf\x11\xe0") or head.lstrip().startswith(b"{\\rtf") \
        or (head.startswith(b"PK\x03\x04") and b"opendocument" in head)
    return limits.seconds + (CONVERT_TIMEOUT if legacy else 0)


def _peak_mb(pid: int) -> float:
    """The child's own high-water mark (VmHWM). ru_maxrss would count the parent's pages copied at fork."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _run_child(path: Path, limits: Limits) -> tuple[dict | None, int, Stats]:
    """Run the child; returns (its answer or None, exit status, stats). Kills the group at the time limit."""
    # Only what Python needs: the process that parses a hostile file gets no tokens or passwords.
    env = {k: v for k, v in os.environ.items() if k in CHILD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    deadline_seconds = _time_limit(path, limits)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "index.sandbox", str(path), json.dumps(asdict(limits))],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, start_new_session=True)
        status, timed_out, peak = 0, False, 0.0
        try:
            while True:
                peak = max(peak, _peak_mb(proc.pid))  # Popen returns after exec: this is the child's own memory
                pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - started > deadline_seconds:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    os.wait4(proc.pid, 0)
                    break
                time.sleep(0.02)
        except BaseException:  # never leave a runaway child behind (KeyboardInterrupt included)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            raise
        finally:
            proc.returncode = os.waitstatus_to_exitcode(status) if proc.returncode is None else proc.returncode
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # LibreOffice or anything else the child left running
        except OSError:
            pass
        stats = Stats(round(time.monotonic() - started, 3), round(peak, 1))
        if timed_out:
            stats.outcome = "time"
            return None, proc.returncode, stats
        out.seek(0)
        try:
            answer = json.loads(out.read().decode("utf-8"))
            stats.peak_mb = round(max(stats.peak_mb, float(answer.pop("peak_mb", 0.0))), 1)
        except (ValueError, AttributeError):
            answer = None
            err.seek(max(0, os.fstat(err.fileno()).st_size - 2000))
            tail = err.read().decode("utf-8", "replace")
            if "MemoryError" in tail:
                answer = {"limit": "memory"}
        return answer, proc.returncode, stats


def extract_limited(path: Path, limits: Limits | None = None) -> Extraction:
    """`index.extract.extract` in a limited child process; raises ExtractionError (or ExtractionRefused)."""
    return run_extraction(path, limits)[0]


def run_extraction(path: Path, limits: Limits | None = None) -> tuple[Extraction, Stats]:
    limits = limits or DEFAULT_LIMITS
    path = Path(path).resolve()
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ExtractionError(f"{path.name}: không tìm thấy tệp.") from exc
    except OSError as exc:
        raise ExtractionError(f"{path.name}: không mở được tệp ({exc.strerror}).") from exc
    if path.is_file() and size > limits.file_mb * 1024 * 1024:
        raise ExtractionRefused(f"{path.name}: tệp nặng {size / 1024 / 1024:.0f} MB (giới hạn {limits.file_mb} MB). "
                                f"{ADVICE}", "size")
    answer, code, stats = _run_child(path, limits)
    if answer and "extraction" in answer:
        stats.outcome = "ok"
        return Extraction(**answer["extraction"]), stats
    limit = (answer or {}).get("limit")
    if stats.outcome == "time":
        message = f"{path.name}: đọc tệp mất quá {_time_limit(path, limits):g} giây nên đã dừng. {ADVICE}"
        raise ExtractionRefused(message, "time", stats)
    if limit == "memory" or (answer is None and code in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGABRT)):
        stats.outcome = "memory"
        raise ExtractionRefused(f"{path.name}: đọc tệp cần hơn {limits.memory_mb} MB bộ nhớ nên đã dừng. {ADVICE}",
                                "memory", stats)
    if limit == "depth" and not answer.get("error"):
        stats.outcome = "refused"
        raise ExtractionRefused(f"{path.name}: cấu trúc tệp lồng nhau quá sâu. {ADVICE}", "depth", stats)
    if code == -signal.SIGXCPU:
        stats.outcome = "time"
        raise ExtractionRefused(f"{path.name}: đọc tệp tốn quá nhiều thời gian xử lý nên đã dừng. {ADVICE}",
                                "time", stats)
    if answer and answer.get("error"):
        stats.outcome = "refused" if limit else "error"
        if limit:
            raise ExtractionRefused(answer["error"], limit, stats)
        raise ExtractionError(answer["error"])
    stats.outcome = "crashed"
    raise ExtractionRefused(f"{path.name}: trình đọc tệp dừng bất thường (mã {code}). {ADVICE}", "crash", stats)


def _main(argv: list[str]) -> int:
    path, limits = Path(argv[0]), Limits(**json.loads(argv[1]))
    result_fd = os.dup(1)
    os.dup2(2, 1)  # stray prints from reader libraries must not corrupt the answer
    answer = child_main(path, limits)
    answer["peak_mb"] = _peak_mb(os.getpid())
    with os.fdopen(result_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(answer, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
