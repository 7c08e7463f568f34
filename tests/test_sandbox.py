"""Hostile uploads are refused within bounded time and memory, with the reason; normal files still go in.

Every file is generated here (tests/hostile_files.py) and read through the real child process of
index.sandbox: the same path `cchc knowledge add`, the console upload and the inbox script take.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from hostile_files import deep_pdf, many_pages_pdf, zip_bomb_docx
from index import sandbox
from index.extract import ExtractionError
from index.ingest import add_file
from index.sandbox import ExtractionRefused, Limits, run_extraction
from served import serve
from test_extract import make_docx

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BOUND = 10.0  # seconds: every refusal here takes well under one; this only guards against a hang


def good_docx(folder: Path, name: str = "kh-son-tra.docx") -> Path:
    return make_docx(
        folder / name, "phường Sơn Trà", "14/KH-UBND", "09 tháng 2", 2026, "Tuyên truyền cải cách hành chính năm 2026",
        ["# MỤC ĐÍCH", "Nâng cao nhận thức của người dân về dịch vụ công trực tuyến trên địa bàn phường Sơn Trà.",
         "# NỘI DUNG", "Phường Sơn Trà tập huấn sử dụng VNeID cho tổ trưởng tổ dân phố trong quý III năm 2026."])


def refused(path: Path, limits: Limits | None = None) -> tuple[ExtractionError, float]:
    started = time.monotonic()
    with pytest.raises(ExtractionError) as err:
        run_extraction(path, limits)
    return err.value, time.monotonic() - started


def test_a_zip_bomb_docx_is_refused_before_parsing(tmp_path):
    bomb = zip_bomb_docx(tmp_path / "bom-nen.docx", xml_mb=50)
    assert bomb.stat().st_size < 500_000  # a small file...
    error, seconds = refused(bomb)  # ...holding 50 MB of XML
    assert isinstance(error, ExtractionRefused) and error.limit == "size"
    assert "bom-nen.docx" in str(error) and "word/document.xml giải nén ra 50 MB XML" in str(error)
    assert "giới hạn 25 MB" in str(error) and "lưu/xuất lại" in str(error)
    assert seconds < BOUND and error.stats.peak_mb < 150, error.stats


def test_a_zip_whose_header_lies_about_the_size_is_refused(tmp_path):
    bomb = zip_bomb_docx(tmp_path / "noi-doi.docx", xml_mb=30, lie_about_size=True)
    error, seconds = refused(bomb)
    assert "noi-doi.docx" in str(error) and "hỏng" in str(error)  # the inflated bytes never pass the header
    assert seconds < BOUND


@pytest.mark.parametrize("depth", [40, 150, 5000])
def test_a_pdf_with_a_deeply_nested_page_tree_is_refused(tmp_path, depth):
    error, seconds = refused(deep_pdf(tmp_path / f"sau-{depth}.pdf", depth))
    assert isinstance(error, ExtractionRefused) and error.limit == "depth"
    assert "cây trang của tệp PDF lồng sâu hơn 32 tầng" in str(error)
    assert seconds < BOUND


@pytest.mark.parametrize("declared", [None, 1], ids=["honest-count", "lying-count"])
def test_a_pdf_with_too_many_pages_is_refused(tmp_path, declared):
    error, seconds = refused(many_pages_pdf(tmp_path / "nhieu-trang.pdf", 5000, declared))
    assert isinstance(error, ExtractionRefused) and error.limit == "pages"
    assert "giới hạn 500 trang" in str(error)
    assert seconds < BOUND


def test_the_memory_limit_stops_a_heavy_file(tmp_path):
    heavy = zip_bomb_docx(tmp_path / "nang.docx", xml_mb=12)  # under the size limits, heavy to parse
    error, seconds = refused(heavy, Limits(memory_mb=128))
    assert isinstance(error, ExtractionRefused) and error.limit == "memory", error
    assert "cần hơn 128 MB bộ nhớ" in str(error)
    assert seconds < BOUND and error.stats.peak_mb <= 128


def test_the_time_limit_kills_a_slow_extraction(tmp_path):
    heavy = zip_bomb_docx(tmp_path / "cham.docx", xml_mb=12)
    error, seconds = refused(heavy, Limits(seconds=0.5))
    assert isinstance(error, ExtractionRefused) and error.limit == "time"
    assert "đọc tệp mất quá 0.5 giây nên đã dừng" in str(error)
    assert seconds < 0.5 + 2.0  # killed at the limit, not when the parser finishes


def test_normal_files_are_read_as_before(tmp_path):
    extraction, stats = run_extraction(good_docx(tmp_path))
    assert extraction.kind == "docx" and "tập huấn sử dụng VNeID" in extraction.text
    assert stats.outcome == "ok" and stats.peak_mb < 200
    pdf, _ = run_extraction(deep_pdf(tmp_path / "nong.pdf", depth=3))
    assert pdf.pages == 1 and "Hoa Khanh" in pdf.text


def test_knowledge_add_refuses_the_hostile_file_and_adds_the_good_one(run_cli, tmp_path, small_knowledge):
    bomb = zip_bomb_docx(tmp_path / "bom.docx")
    deep = deep_pdf(tmp_path / "sau.pdf")
    good = good_docx(tmp_path)
    started = time.monotonic()
    done = run_cli("knowledge", "add", str(bomb), str(deep), str(good), data_dir=tmp_path / "data",
                   knowledge_dir=small_knowledge)
    assert time.monotonic() - started < 60
    assert done.returncode == 1, done.stderr
    assert "Không thêm được" in done.stderr and "bom.docx" in done.stderr and "giải nén" in done.stderr
    assert "sau.pdf" in done.stderr and "lồng sâu" in done.stderr
    assert "Đã thêm" in done.stdout and good.name in done.stdout
    assert len(list((small_knowledge / "plans").glob("*.md"))) == 2


# ------------------------------------------------------------------------------- console upload
@pytest.fixture
def console(tmp_path, small_settings, embedder):
    from bot.console.app import create_app
    from bot.console.auth import Accounts
    from bot.live import LiveAssistant
    from index.build import build_index
    from test_console_http import PASSWORD, USER

    build_index(small_settings, embedder=embedder, show_progress=False)
    assistant = LiveAssistant(small_settings, embedder=embedder, check_seconds=3600)
    accounts = Accounts(env_user=USER, env_password=PASSWORD, file=small_settings.data_dir / "console" / "a.json")
    app = create_app(small_settings, assistant, None, tmp_path / "questions.yaml", accounts)
    base, stop = serve(app)
    yield base
    stop()


def _officer(url: str):
    from test_console_http import Client

    client = Client(url)
    assert client.login().status_code == 303
    return client


def _upload(officer, path: Path):
    token = officer.token("/knowledge/upload")
    return officer.post("/knowledge/upload", {"csrf_token": token},
                        files={"file": (path.name, path.read_bytes(), DOCX_MIME)})


def _error(page) -> str:
    return page.text.split('id="upload-error"', 1)[1].split("</div>", 1)[0]


def test_console_refuses_hostile_uploads_and_a_stuck_one_does_not_hold_up_the_others(
        console, tmp_path, small_settings, monkeypatch):
    officer = _officer(console)
    page = _upload(officer, zip_bomb_docx(tmp_path / "bom.docx"))
    assert page.status_code == 400 and "giải nén ra 50 MB XML" in _error(page)
    page = _upload(officer, deep_pdf(tmp_path / "sau.pdf"))
    assert page.status_code == 400 and "lồng sâu" in _error(page)

    # A file that keeps the reader busy is killed at the time limit, and another officer's upload
    # meanwhile goes through at once: the upload lock is never held while a file is being read.
    monkeypatch.setattr(sandbox, "DEFAULT_LIMITS", Limits(seconds=3))
    slow = zip_bomb_docx(tmp_path / "cham.docx", xml_mb=24)
    outcome: dict = {}

    def slow_upload() -> None:
        started = time.monotonic()
        outcome["page"] = _upload(_officer(console), slow)
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=slow_upload)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    page = _upload(officer, good_docx(tmp_path))
    quick = time.monotonic() - started
    worker.join(timeout=60)
    assert page.status_code == 200 and "tập huấn sử dụng VNeID" in page.text, page.text[:500]
    assert outcome["page"].status_code == 400 and "giây nên đã dừng" in _error(outcome["page"])
    assert outcome["seconds"] < 3 + 5
    assert quick < outcome["seconds"], (quick, outcome["seconds"])
    plans = sorted(p.name for p in (small_settings.knowledge_dir / "plans").glob("*.md"))
    assert len(plans) == 2  # the small plan and the good upload; nothing from the hostile ones


def test_add_file_passes_a_refusal_through_as_a_knowledge_error(tmp_path, small_knowledge):
    from index.documents import KnowledgeError

    with pytest.raises(KnowledgeError, match="lồng sâu"):
        add_file(deep_pdf(tmp_path / "sau.pdf"), small_knowledge)


def test_the_reader_process_gets_no_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:secret-token")
    monkeypatch.setenv("CCHC_CONSOLE_PASSWORD", "mat-khau")
    probe = tmp_path / "probe.txt"
    probe.write_text("Kế hoạch kiểm tra môi trường của tiến trình đọc tệp, đủ dài để có nội dung chữ.",
                     encoding="utf-8")
    seen: dict = {}
    real_popen = sandbox.subprocess.Popen

    def spy(*args, **kwargs):
        seen.update(kwargs["env"])
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(sandbox.subprocess, "Popen", spy)
    run_extraction(probe)
    assert "TELEGRAM_BOT_TOKEN" not in seen and "CCHC_CONSOLE_PASSWORD" not in seen and "PYTHONPATH" in seen
