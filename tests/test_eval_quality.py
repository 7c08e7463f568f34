"""Quality floors on tests/eval/questions.yaml, measured by the same code as `cchc eval`.

Raise the floors as answer quality improves; never lower them to make a change pass.
"""
from pathlib import Path

import pytest

from bot.evaluate import CATEGORIES_NOT_FOUND, evaluate, format_report, load_items
from index.chunk import document_card
from index.documents import load_documents
from index.vietnamese import fold

EVAL_FILE = Path(__file__).resolve().parent / "eval" / "questions.yaml"
KNOWLEDGE_DIR = Path(__file__).resolve().parents[1] / "knowledge"

HIT_AT_5_FLOOR = 0.95
ANSWER_ACCURACY_FLOOR = 0.85
OUT_OF_SCOPE_ACCURACY_FLOOR = 0.88
DIACRITICS_AGREEMENT_FLOOR = 0.90  # same found/not-found decision with and without diacritics


@pytest.fixture(scope="module")
def items():
    return load_items(EVAL_FILE)


@pytest.fixture(scope="module")
def hybrid(assistant, items):
    report = evaluate(assistant, items, mode="hybrid")
    print("\n" + format_report(report, f"== {EVAL_FILE.name} (hybrid)"))
    return report


@pytest.fixture(scope="module")
def keyword(assistant, items):
    return evaluate(assistant, items, mode="keyword")


def _failures(report) -> str:
    return "\n".join(
        f"  {r.item.id} [{r.item.category}] {r.item.question!r} found={r.found} rank={r.rank}"
        for r in report.failures()
    )


# ----------------------------------------------------------------- the eval file itself
def test_eval_file_is_well_formed(items):
    assert len(items) >= 100
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    for item in items:
        assert item.question.strip()
        if item.category in CATEGORIES_NOT_FOUND:
            assert not item.expect_found, item.id
        if item.expect_found and item.category != "smalltalk":
            assert item.expected_docs, item.id


def test_expected_docs_and_facts_exist_in_the_knowledge(items):
    """expected_facts are verbatim in the expected documents: a failure is the bot's, not the file's."""
    docs = {d.id: d for d in load_documents(KNOWLEDGE_DIR)}
    for item in items:
        for doc_id in item.expected_docs:
            assert doc_id in docs, f"{item.id}: unknown document {doc_id}"
        if item.expect_found and item.expected_facts:
            text = fold(" ".join(docs[d].body + " " + document_card(docs[d]) for d in item.expected_docs))
            text = " ".join(text.split())
            for fact in item.expected_facts:
                assert " ".join(fold(fact).split()) in text, f"{item.id}: fact {fact!r} not in {item.expected_docs}"


# ----------------------------------------------------------------------------- floors
def test_hit_at_5_floor(hybrid):
    m = hybrid.metrics()
    assert m["hit@5"] >= HIT_AT_5_FLOOR, f"{m}\n{_failures(hybrid)}"


def test_answer_accuracy_floor(hybrid):
    m = hybrid.metrics()
    assert m["answer_accuracy"] >= ANSWER_ACCURACY_FLOOR, f"{m}\n{_failures(hybrid)}"


def test_out_of_scope_accuracy_floor(hybrid):
    m = hybrid.metrics()
    assert m["out_of_scope_accuracy"] >= OUT_OF_SCOPE_ACCURACY_FLOOR, f"{m}\n{_failures(hybrid)}"


def test_diacritics_do_not_change_the_decision(hybrid):
    agreement = hybrid.diacritics_agreement()
    assert agreement is not None, "the eval file should pair questions with and without diacritics"
    assert agreement >= DIACRITICS_AGREEMENT_FLOOR


def test_hybrid_retrieval_is_not_worse_than_keyword_alone(hybrid, keyword):
    h, k = hybrid.metrics(), keyword.metrics()
    assert h["hit@5"] >= k["hit@5"], f"hybrid {h} vs keyword {k}"


def test_every_found_answer_in_the_eval_cites_a_source(hybrid):
    for r in hybrid.results:
        if r.found and r.item.category != "smalltalk":
            assert "[1]" in r.answer, r.item.id
