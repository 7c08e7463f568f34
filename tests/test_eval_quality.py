"""The eval sets (tests/eval/dev, test, probe*) load and are well formed; the runner measures them.

Floors are checked on the dev split only; the test split is read through totals, never item by item.
Raise the floors as answer quality improves; never lower them to make a change pass.
"""
import json
from pathlib import Path

import pytest

from bot.evaluate import CATEGORIES_NOT_FOUND, evaluate, fold, format_report, load_items
from index.chunk import document_card
from index.documents import load_documents

EVAL_DIR = Path(__file__).resolve().parent / "eval"
DEV_DIR, TEST_DIR = EVAL_DIR / "dev", EVAL_DIR / "test"
PROBE_DIRS = [EVAL_DIR / "probe", EVAL_DIR / "probe2", EVAL_DIR / "probe3", EVAL_DIR / "probe4", EVAL_DIR / "probe5"]  # fresh sets, each read once unseen
KNOWLEDGE_DIR = Path(__file__).resolve().parents[1] / "knowledge"
PROCEDURE_CODE = r"^\d\.\d{6}$"

# Floors for the v2 dev split with the whole procedure catalogue indexed (measured 0.892 / 0.942 / 0.883 / 0.959 on
# 3 December 2026, sixth session, 416 questions). They guard against regressions; the issue bars (≥ 0.92 on held-out
# plan questions) are higher.
ANSWER_ACCURACY_FLOOR = 0.875
CITATION_ACCURACY_FLOOR = 0.91
DECLINE_ACCURACY_FLOOR = 0.86
HIT_AT_5_FLOOR = 0.93
PAIR_SAME_DECISION_FLOOR = 0.95  # same found/not-found decision with and without diacritics
PAIR_SAME_SOURCE_FLOOR = 0.85  # same first source for pairs that are found


@pytest.fixture(scope="module")
def dev_items():
    return load_items(DEV_DIR)


@pytest.fixture(scope="module")
def test_items():
    return load_items(TEST_DIR)


@pytest.fixture(scope="module")
def probe_items():
    return load_items(PROBE_DIRS)


@pytest.fixture(scope="module")
def hybrid(assistant, dev_items):
    report = evaluate(assistant, dev_items, mode="hybrid")
    print("\n" + format_report(report, "== tests/eval/dev (hybrid)"))
    return report


@pytest.fixture(scope="module")
def keyword(assistant, dev_items):
    return evaluate(assistant, dev_items, mode="keyword")


def _failures(report) -> str:
    return "\n".join(
        f"  {r.item.id} [{r.item.category}] {r.item.question!r} found={r.found} rank={r.rank}"
        for r in report.failures()
    )


# ----------------------------------------------------------------- the eval files themselves
def test_eval_sets_are_well_formed(dev_items, test_items, probe_items):
    assert len(dev_items) >= 300 and len(test_items) >= 200 and len(probe_items) >= 550
    ids = [i.id for i in dev_items + test_items + probe_items]
    assert len(ids) == len(set(ids)), "an id is used in two sets"
    by_id = {i.id: i for i in dev_items + test_items + probe_items}
    for item in dev_items + test_items + probe_items:
        assert item.question.strip(), item.id
        if item.category in CATEGORIES_NOT_FOUND:
            assert not item.expect_found, item.id
        if item.expect_found and item.category not in ("smalltalk", "procedure_choice"):
            assert item.expected_docs, item.id
        if item.pair:
            other = by_id.get(item.pair)
            assert other is not None, f"{item.id}: pair {item.pair} not found"
            assert other.source.rsplit("/", 2)[-2] == item.source.rsplit("/", 2)[-2], f"{item.id}: pair split apart"
            assert fold(other.question) == fold(item.question) and other.question != item.question, item.id


def test_expected_docs_and_facts_exist_in_the_knowledge(dev_items, test_items, probe_items):
    """expected_facts are verbatim in the expected documents: a failure is the bot's, not the file's.

    Procedure records (document id = procedure code) are checked once knowledge/procedures is imported.
    """
    import re

    docs = {d.id: d for d in load_documents(KNOWLEDGE_DIR)}
    procedures_imported = any(re.match(PROCEDURE_CODE, d) for d in docs)
    for item in dev_items + test_items + probe_items:
        if not procedures_imported and any(re.match(PROCEDURE_CODE, d) for d in item.expected_docs):
            continue
        for doc_id in item.expected_docs:
            assert doc_id in docs, f"{item.id}: unknown document {doc_id}"
        if item.expect_found and item.expected_facts and item.expected_docs:
            # a procedure record keeps its fields (channels, fees, papers) in the front matter: check those too
            text = fold(" ".join(docs[d].body + " " + document_card(docs[d]) + " "
                                 + json.dumps(docs[d].metadata(), ensure_ascii=False, default=str)
                                 for d in item.expected_docs))
            text = " ".join(re.sub(r"(?<=\d),(?=\d{3}\b)", ".", text).split())
            for fact in item.expected_facts:
                assert " ".join(fold(fact).split()) in text, f"{item.id}: fact {fact!r} not in {item.expected_docs}"


def test_the_runner_measures_both_splits(assistant, hybrid, test_items):
    """Every metric the bars name is computed; the test split is reported as totals only."""
    m = hybrid.metrics()
    for key in ("answer_accuracy", "citation_accuracy", "fact_accuracy", "decline_accuracy",
                "accuracy_no_diacritics", "accuracy_with_diacritics", "forbidden_citation_rate"):
        assert m[key] is not None and 0.0 <= m[key] <= 1.0, key
    pairs = hybrid.pair_metrics()
    assert pairs["pairs"] >= 20 and pairs["pair_same_decision"] is not None
    totals = format_report(evaluate(assistant, test_items), "== tests/eval/test (hybrid)")
    print("\n" + totals)
    assert not any(item.question in totals for item in test_items)


# ----------------------------------------------------------------------------- floors (dev only)
def test_answer_and_citation_floors(hybrid):
    m = hybrid.metrics()
    assert m["answer_accuracy"] >= ANSWER_ACCURACY_FLOOR, f"{m}\n{_failures(hybrid)}"
    assert m["citation_accuracy"] >= CITATION_ACCURACY_FLOOR, m
    assert m["hit@5"] >= HIT_AT_5_FLOOR, m


def test_declines_out_of_scope_and_missing_procedures(hybrid):
    m = hybrid.metrics()
    assert m["decline_accuracy"] >= DECLINE_ACCURACY_FLOOR, f"{m}\n{_failures(hybrid)}"
    assert (m["forbidden_citation_rate"] or 0) <= 0.05, "portal questions answered from a ward plan"


def test_diacritics_do_not_change_the_decision_or_the_source(hybrid):
    pairs = hybrid.pair_metrics()
    assert pairs["pair_same_decision"] >= PAIR_SAME_DECISION_FLOOR, pairs
    assert pairs["pair_same_first_source"] >= PAIR_SAME_SOURCE_FLOOR, pairs


def test_unaccented_questions_are_not_worse_than_accented_ones(hybrid):
    m = hybrid.metrics()
    assert m["accuracy_no_diacritics"] >= m["accuracy_with_diacritics"] - 0.02, m


def test_hybrid_retrieval_is_not_worse_than_keyword_alone(hybrid, keyword):
    h, k = hybrid.metrics(), keyword.metrics()
    assert h["hit@5"] >= k["hit@5"] - 0.01, f"hybrid {h} vs keyword {k}"


def test_every_found_answer_in_the_eval_cites_a_source(hybrid):
    for r in hybrid.results:
        if r.found and r.item.category != "smalltalk" and r.kind != "smalltalk":
            assert "[1]" in r.answer, r.item.id
