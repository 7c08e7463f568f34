"""Two-step publishing (the console's): build and check a new version, compare, then publish or discard it.

Real model, real FAISS and BM25 files, a two-document knowledge folder and a four-question eval file, so a
check takes about a second. `cchc index refresh` keeps publishing in one step (tests/test_refresh.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from index import store
from index.build import build_index
from index.documents import load_documents
from index.refresh import CandidateGone, discard_prepared, prepare, publish_prepared, refresh

PLAN = "plans/kh-cchc-tan-an-2026.md"
GUIDE = "guidance/huong-dan-nop-ho-so.md"
EVAL = """\
- id: q1
  question: "Tỷ lệ hồ sơ giải quyết đúng hạn của phường Tân An là bao nhiêu?"
  category: plan_fact
  expect_found: true
  expected_docs: ["kh-cchc-tan-an-2026"]
  expected_facts: ["98%"]
- id: q2
  question: "Ai ký kế hoạch cải cách hành chính năm 2026 của phường Tân An?"
  category: plan_fact
  expect_found: true
  expected_docs: ["kh-cchc-tan-an-2026"]
  expected_facts: ["Lê Văn Bình"]
- id: q3
  question: "Làm sao tra cứu tình trạng hồ sơ đã nộp trực tuyến?"
  category: portal
  expect_found: true
  expected_docs: ["huong-dan-nop-ho-so"]
  expected_facts: ["mã hồ sơ"]
- id: q4
  question: "Giá vé máy bay đi Hà Nội bao nhiêu?"
  category: out_of_scope
  expect_found: false
"""


@pytest.fixture
def eval_file(tmp_path) -> Path:
    path = tmp_path / "questions.yaml"
    path.write_text(EVAL, encoding="utf-8")
    return path


@pytest.fixture
def built(small_settings, embedder) -> str:
    return build_index(small_settings, embedder=embedder, show_progress=False).version


def edit(settings, relative: str, old: str, new: str) -> None:
    path = settings.knowledge_dir / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_checked_version_waits_beside_the_live_one_with_every_answer_of_both(small_settings, embedder, built,
                                                                               eval_file):
    edit(small_settings, PLAN, "signer: Lê Văn Bình", "signer: Trần Thị Hoa")
    report = prepare(small_settings, embedder=embedder, eval_file=eval_file, tolerance=0.5)
    assert report.candidate and not report.published and report.problems == []
    assert store.current_version(small_settings.data_dir) == built  # citizens still get the old answers
    assert store.version_state(small_settings.data_dir, report.candidate) == "validated"
    live = {r.item.id: r for r in report.eval_reports["live"].results}
    new = {r.item.id: r for r in report.eval_reports["new"].results}
    assert set(live) == set(new) == {"q1", "q2", "q3", "q4"}
    assert live["q2"].correct and "Lê Văn Bình" in live["q2"].answer
    assert not new["q2"].correct and "Trần Thị Hoa" in new["q2"].answer
    assert all(live[q].correct == new[q].correct for q in ("q1", "q3", "q4"))

    previous = publish_prepared(small_settings, report.candidate, published_by="canbo.a", summary="sửa người ký")
    assert previous == built
    assert store.current_version(small_settings.data_dir) == report.candidate
    manifest = store.read_manifest(store.indexes_dir(small_settings.data_dir) / report.candidate)
    assert manifest.extra["state"] == "live"
    assert (manifest.extra["published_by"], manifest.extra["summary"]) == ("canbo.a", "sửa người ký")
    assert store.previous_version(small_settings.data_dir) == built  # the rollback target


def test_a_gate_failure_keeps_nothing_but_still_shows_which_answers_moved(small_settings, embedder, built, eval_file):
    edit(small_settings, PLAN, "signer: Lê Văn Bình", "signer: Trần Thị Hoa")
    report = prepare(small_settings, embedder=embedder, eval_file=eval_file, tolerance=0.02)
    assert report.candidate is None and report.problems
    assert "giảm từ 1.000 xuống 0.750" in report.problems[0]
    assert [r.correct for r in report.eval_reports["new"].results] == [True, False, True, True]
    assert store.list_versions(small_settings.data_dir) == [built]


def test_a_version_checked_before_another_edit_is_not_published(small_settings, embedder, built, eval_file):
    edit(small_settings, PLAN, "signer: Lê Văn Bình", "signer: Lê Văn Bính")
    report = prepare(small_settings, embedder=embedder, eval_file=eval_file, tolerance=0.5)
    assert report.candidate
    edit(small_settings, GUIDE, "mã hồ sơ", "mã số hồ sơ")  # changed after the check: the comparison is stale
    with pytest.raises(CandidateGone, match="Kho tri thức đã thay đổi"):
        publish_prepared(small_settings, report.candidate)
    assert store.current_version(small_settings.data_dir) == built
    assert report.candidate not in store.list_versions(small_settings.data_dir)


def test_a_version_checked_before_another_publish_is_not_published(small_settings, embedder, built, eval_file):
    edit(small_settings, PLAN, "signer: Lê Văn Bình", "signer: Lê Văn Bính")
    first = prepare(small_settings, embedder=embedder, eval_file=eval_file, tolerance=0.5)
    assert first.candidate
    cli = refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False)  # cron or a technician
    assert cli.published
    with pytest.raises(CandidateGone):
        publish_prepared(small_settings, first.candidate)
    assert store.current_version(small_settings.data_dir) == cli.version


def test_discarding_removes_the_checked_version_only(small_settings, embedder, built, eval_file):
    edit(small_settings, PLAN, "signer: Lê Văn Bình", "signer: Lê Văn Bính")
    report = prepare(small_settings, embedder=embedder, eval_file=eval_file, tolerance=0.5)
    assert discard_prepared(small_settings, report.candidate) is True
    assert discard_prepared(small_settings, report.candidate) is False
    assert discard_prepared(small_settings, built) is False  # the live version is never removed this way
    assert store.list_versions(small_settings.data_dir) == [built]


def test_a_disabled_document_leaves_the_index_and_comes_back_when_enabled(small_settings, embedder, built,
                                                                          eval_file):
    edit(small_settings, GUIDE, "type: hướng dẫn\n", "type: hướng dẫn\ndisabled: true\n")
    assert [d.id for d in load_documents(small_settings.knowledge_dir)] == ["kh-cchc-tan-an-2026"]
    assert len(load_documents(small_settings.knowledge_dir, include_disabled=True)) == 2
    report = prepare(small_settings, embedder=embedder, eval_file=eval_file, tolerance=0.5)
    assert report.removed == ["huong-dan-nop-ho-so"]
    q3 = [r for r in report.eval_reports["new"].results if r.item.id == "q3"][0]
    assert not q3.found  # without the guide the assistant says it did not find it
    publish_prepared(small_settings, report.candidate)
    served = store.read_manifest(store.indexes_dir(small_settings.data_dir) / report.candidate).documents
    assert set(served) == {"kh-cchc-tan-an-2026"}

    edit(small_settings, GUIDE, "disabled: true\n", "")
    again = prepare(small_settings, embedder=embedder, eval_file=eval_file, tolerance=0.5)
    assert again.added == ["huong-dan-nop-ho-so"]
    assert all(r.correct for r in again.eval_reports["new"].results)
