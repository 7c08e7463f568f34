"""The eval runner's metrics on a tiny synthetic report (no model), and the test-split guard of `cchc eval`."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluate import EvalItem, Report, format_report, judge, load_items
from bot.types import Answer, Citation

REPO = Path(__file__).resolve().parents[1]


def cite(doc_id: str, section: str = "I", doc_type: str | None = None) -> Citation:
    c = Citation(n=1, doc_id=doc_id, title=doc_id, section=section, source=None, text="…", score=1.0)
    if doc_type:
        c.doc_type = doc_type  # the v2 core may carry the type on the citation
    return c


def item(id: str, question: str, category: str = "procedure_fee", found: bool = True, docs=(), facts=(),
         **extra) -> EvalItem:
    return EvalItem(id, question, category, found, list(docs), list(facts), **extra)


def answer(text: str, found: bool, *citations: Citation) -> Answer:
    return Answer("q", text, found, list(citations), kind="answer" if found else "not_found")


@pytest.fixture
def report() -> Report:
    pointer = "Mình chưa có thông tin này. Bạn hãy gọi Tổng đài 1800.1096."
    return Report([
        # right procedure, right fee (written "20,000" by the answer, "20.000" by the item)
        judge(item("a1", "lệ phí đăng ký thường trú", docs=["1.004222"], facts=["20.000"]),
              answer("Lệ phí: 20,000 đồng [1]", True, cite("1.004222"))),
        # its unaccented twin: found, right fee, but a different first source
        judge(item("a2", "le phi dang ky thuong tru", docs=["1.004222"], facts=["20.000"], pair="a1"),
              answer("Lệ phí: 20.000 đồng [1]", True, cite("2.001159"))),
        # found but the fact is missing and the wrong procedure is cited
        judge(item("b1", "đăng ký tạm trú mất mấy ngày", "procedure_time", docs=["1.004194"], facts=["03"]),
              answer("Thời hạn: 5 ngày làm việc [1]", True, cite("1.004222"))),
        # a question the catalogue cannot answer, declined with a pointer
        judge(item("c1", "ho so cua toi nop hom qua xong chua", "procedure_missing", found=False),
              answer(pointer, False)),
        # portal FAQ passed off with a ward plan: wrong, and counted as a forbidden citation
        judge(item("d1", "quên mật khẩu vneid", "portal_faq", found=False, forbid_doc_types=["kế hoạch"]),
              answer("Theo kế hoạch … [1]", True, cite("kh-cchc-hung-phu-2025", doc_type="kế hoạch"))),
        judge(item("d2", "quen mat khau vneid", "portal_faq", found=False, forbid_doc_types=["kế hoạch"]),
              answer(pointer, False)),
    ])


def test_metrics_on_a_synthetic_report(report):
    m = report.metrics()
    assert m["n"] == 6
    assert m["answer_accuracy"] == pytest.approx(4 / 6, abs=1e-3)  # a1, a2, c1, d2
    assert m["citation_accuracy"] == pytest.approx(1 / 3, abs=1e-3)  # only a1 cites 1.004222
    assert m["fact_accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert m["decline_accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert m["decline_with_pointer"] == pytest.approx(2 / 3, abs=1e-3)
    assert m["forbidden_citation_rate"] == 0.5
    # without diacritics: a2, c1, d2 all right; with: a1 right, b1 and d1 wrong
    assert m["accuracy_no_diacritics"] == 1.0
    assert m["accuracy_with_diacritics"] == pytest.approx(1 / 3, abs=1e-3)


def test_pairs_by_link_and_by_folded_text(report):
    p = report.pair_metrics()
    assert p["pairs"] == 2  # a1/a2 linked by `pair:`, d1/d2 by equal folded text
    assert p["pair_same_decision"] == 0.5  # d1 found, d2 declined
    assert p["pair_same_first_source"] == 0.0  # a1 and a2 both found, first sources differ


def test_per_category_counts_and_no_item_text(report):
    cats = report.by_category()
    assert cats["procedure_fee"]["n"] == 2 and cats["portal_faq"]["forbidden_citation_rate"] == 0.5
    text = format_report(report, "== test")
    assert "procedure_fee" in text and "quên mật khẩu" not in text and "a1" not in text.split()


def test_load_items_reads_a_directory_and_refuses_duplicate_ids(tmp_path):
    (tmp_path / "a.yaml").write_text('- {id: x1, question: "a", expect_found: false}\n', encoding="utf-8")
    (tmp_path / "b.yaml").write_text('- {id: x2, question: "b", pair: x1, forbid_doc_types: ["kế hoạch"]}\n',
                                     encoding="utf-8")
    items = load_items(tmp_path)
    assert [i.id for i in items] == ["x1", "x2"] and items[1].pair == "x1"
    assert items[1].forbid_doc_types == ["kế hoạch"] and items[1].expect_found
    (tmp_path / "c.yaml").write_text('- {id: x1, question: "c"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="x1"):
        load_items(tmp_path)


@pytest.mark.parametrize("flag", ["--failures", "--calibrate"])
def test_cli_refuses_item_level_output_on_the_test_split(flag, capsys):
    from bot.cli import main

    assert main(["eval", str(REPO / "tests" / "eval" / "test"), flag]) == 2  # refused before any model loads
    out = capsys.readouterr()
    assert "chỉ được xem số tổng" in out.err and out.out == ""


def test_a_greeting_reply_to_an_out_of_scope_message_is_a_decline():
    """'an com chua' answered with a greeting gives no knowledge-base answer: right for an out-of-scope item."""
    greeting = Answer("an com chua", "Xin chào! Mình là Trợ lý CCHC…", True, [], kind="smalltalk")
    r = judge(item("o1", "an com chua", "out_of_scope", found=False), greeting)
    assert r.correct and not r.answered
    passage = answer("Theo kế hoạch … [1]", True, cite("kh-cchc-hung-phu-2025"))
    assert not judge(item("o2", "an com chua", "out_of_scope", found=False), passage).correct


def test_accept_decline_takes_either_an_answer_or_an_honest_decline():
    it = item("e1", "web dich vu cong bi treo", "portal_faq", docs=["huong-dan-tong-dai"], facts=["1800.1096"],
              accept_decline=True, forbid_doc_types=["kế hoạch"])
    declined = judge(it, answer("Mình chưa có thông tin này. Bạn hãy gọi Tổng đài 1800.1096.", False))
    answered = judge(it, answer("Gọi Tổng đài 1800.1096 [1]", True, cite("huong-dan-tong-dai", doc_type="hướng dẫn")))
    from_plan = judge(it, answer("Theo kế hoạch … 1800.1096 [1]", True, cite("kh-x", doc_type="kế hoạch")))
    assert declined.correct and answered.correct and not from_plan.correct
    m = Report([declined, answered]).metrics()
    assert m["citation_accuracy"] == 1.0  # the decline is not counted as a missing citation
