"""Measure the assistant on eval files: answers, citations, facts, declines, diacritics pairs, per category.

The same code serves `cchc eval`, the tests' quality floors and the calibration of the fusion weight
and the found threshold, so the figures in the README are the figures the tests check. Items live in
tests/eval/dev (tune on it) and tests/eval/test (read only its totals: `cchc eval tests/eval/test --totals`).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.answer import Assistant
from bot.types import Answer
from index.search import Mode
from index.vietnamese import fold as _fold
from index.vietnamese import has_vietnamese_diacritics

# Categories whose items must expect "not found" (checked by tests/test_eval_quality.py).
CATEGORIES_NOT_FOUND = {"out_of_scope", "unanswerable", "national_procedure", "procedure_missing"}
# Categories left out of the with/without-diacritics comparison: English and chit-chat say nothing about it.
NOT_IN_DIACRITICS_SPLIT = {"out_of_scope", "smalltalk"}
# A decline should point somewhere a citizen can get the answer.
DECLINE_POINTERS = ("1800.1096", "dichvucong.gov.vn", "trung tam phuc vu hanh chinh cong")


def fold(text: str) -> str:
    """Lowercase, strip diacritics, one space: 'Thủ tục  Đăng ký' -> 'thu tuc dang ky'."""
    return " ".join(_fold(text).split())


has_diacritics = has_vietnamese_diacritics


@dataclass
class EvalItem:
    id: str
    question: str
    category: str
    expect_found: bool
    expected_docs: list[str] = field(default_factory=list)
    expected_facts: list[str] = field(default_factory=list)
    pair: str | None = None  # id of the same question written with(out) diacritics
    forbid_doc_types: list[str] = field(default_factory=list)  # a found answer citing these types is wrong
    lang: str = "vi"  # "en" for questions written in English
    accept_decline: bool = False  # an honest "not found" with a pointer is also right (e.g. 'the portal shows an error')
    source: str = ""  # the YAML file the item came from


@dataclass
class ItemResult:
    item: EvalItem
    found: bool
    correct: bool
    rank: int | None  # 1-based rank of the first expected document in the top 5
    coverage: float
    answer: str
    cited_docs: list[str] = field(default_factory=list)
    first_source: tuple[str, str] | None = None  # (doc_id, section) of citation [1]
    facts_ok: bool = False
    forbidden_cited: bool = False
    taken_for_english: bool = False
    kind: str = "answer"

    @property
    def answered(self) -> bool:
        """Found, and from the knowledge base: a greeting or help reply declines nothing and answers nothing."""
        return self.found and self.kind != "smalltalk"


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


@dataclass
class Report:
    results: list[ItemResult]

    def _rate(self, values: list[bool]) -> float | None:
        return _rate(values)

    def metrics(self, results: list[ItemResult] | None = None) -> dict:
        rs = self.results if results is None else results
        retrieval = [r for r in rs if r.item.expected_docs]
        negatives = [r for r in rs if not r.item.expect_found]
        positives = [r for r in rs if r.item.expect_found and r.item.category != "smalltalk"
                     and not (r.item.accept_decline and not r.answered)]
        split = [r for r in rs if r.item.category not in NOT_IN_DIACRITICS_SPLIT]
        guarded = [r for r in rs if r.item.forbid_doc_types]
        return {
            "n": len(rs),
            "answer_accuracy": _rate([r.correct for r in rs]),
            "hit@5": _rate([r.rank is not None for r in retrieval]),
            "mrr": round(sum(1 / r.rank for r in retrieval if r.rank) / len(retrieval), 3) if retrieval else None,
            "out_of_scope_accuracy": _rate([not r.answered for r in negatives]),
            "citation_accuracy": _rate([any(d in r.cited_docs for d in r.item.expected_docs)
                                        for r in positives if r.item.expected_docs]),
            "fact_accuracy": _rate([r.found and r.facts_ok for r in positives if r.item.expected_facts]),
            "decline_accuracy": _rate([not r.answered for r in negatives]),
            "decline_with_pointer": _rate([not r.answered and any(p in fold(r.answer) for p in DECLINE_POINTERS)
                                           for r in negatives]),
            "accuracy_no_diacritics": _rate([r.correct for r in split if not has_diacritics(r.item.question)]),
            "accuracy_with_diacritics": _rate([r.correct for r in split if has_diacritics(r.item.question)]),
            "forbidden_citation_rate": _rate([r.forbidden_cited for r in guarded]),
            "taken_for_english": sum(r.taken_for_english for r in rs if r.item.lang != "en"),
        }

    def by_category(self) -> dict[str, dict]:
        groups: dict[str, list[ItemResult]] = defaultdict(list)
        for r in self.results:
            groups[r.item.category].append(r)
        return {cat: self.metrics(rs) for cat, rs in sorted(groups.items())}

    def pairs(self) -> list[tuple[ItemResult, ItemResult]]:
        """With/without-diacritics pairs: linked by `pair:`, or two items whose folded text is equal."""
        by_id = {r.item.id: r for r in self.results}
        seen: set[str] = set()
        out: list[tuple[ItemResult, ItemResult]] = []
        for r in self.results:
            other = by_id.get(r.item.pair or "")
            if other is not None and r.item.id not in seen and other.item.id not in seen:
                out.append((other, r))
                seen.update({r.item.id, other.item.id})
        by_folded: dict[str, list[ItemResult]] = defaultdict(list)
        for r in self.results:
            if r.item.id not in seen:
                by_folded[fold(r.item.question)].append(r)
        for rs in by_folded.values():
            if len(rs) == 2 and has_diacritics(rs[0].item.question) != has_diacritics(rs[1].item.question):
                out.append((rs[0], rs[1]))
        return out

    def pair_metrics(self) -> dict:
        pairs = self.pairs()
        both_found = [(a, b) for a, b in pairs if a.answered and b.answered]
        return {
            "pairs": len(pairs),
            "pair_same_decision": _rate([a.answered == b.answered for a, b in pairs]),
            "pair_same_first_source": _rate([a.first_source == b.first_source for a, b in both_found]),
        }

    def diacritics_agreement(self) -> float | None:
        """Share of with/without-diacritics question pairs that get the same found decision."""
        return self.pair_metrics()["pair_same_decision"]

    def failures(self) -> list[ItemResult]:
        return [r for r in self.results if not r.correct or (r.item.expected_docs and r.rank is None)]


# ------------------------------------------------------------------------------------------- loading
def eval_files(path: Path) -> list[Path]:
    """A YAML file, or every *.yaml under a directory (sorted, so runs are reproducible)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*.yaml") if p.is_file())
    if not path.exists():
        raise FileNotFoundError(f"Không có tệp hay thư mục câu hỏi {path}.")
    return [path]


def _item(row: dict, source: str) -> EvalItem:
    return EvalItem(
        id=str(row["id"]), question=str(row["question"]), category=str(row.get("category", "other")),
        expect_found=bool(row.get("expect_found", True)),
        expected_docs=[str(d) for d in (row.get("expected_docs") or [])],
        expected_facts=[str(f) for f in (row.get("expected_facts") or [])],
        pair=str(row["pair"]) if row.get("pair") else None,
        forbid_doc_types=[str(t) for t in (row.get("forbid_doc_types") or [])],
        lang=str(row.get("lang") or "vi"), accept_decline=bool(row.get("accept_decline", False)), source=source,
    )


def load_items(path: Path | str | list) -> list[EvalItem]:
    """Items of one file, one directory, or several of either; an id used twice is an error."""
    paths = path if isinstance(path, (list, tuple)) else [path]
    items: list[EvalItem] = []
    for p in paths:
        for f in eval_files(Path(p)):
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or []
            items.extend(_item(row, str(f)) for row in data)
    seen: dict[str, str] = {}
    for item in items:
        if item.id in seen:
            raise ValueError(f"Mã câu hỏi {item.id} trùng trong {seen[item.id]} và {item.source}: hãy đổi một mã.")
        seen[item.id] = item.source
    return items


# -------------------------------------------------------------------------------------------- judging
def _norm(text: str) -> str:
    """Folded text with digit groups written one way: '20,000' and '20.000' compare equal."""
    return re.sub(r"(?<=\d)[.,](?=\d{3}\b)", ".", fold(text))


def facts_present(answer: str, facts: list[str]) -> bool:
    text = _norm(answer)
    return all(_norm(f) in text for f in facts)


def _taken_for_english(answer: Answer) -> bool:
    if answer.debug.get("language") == "en" or answer.kind in ("english", "not_vietnamese"):
        return True
    try:
        from bot.replies import NOT_VIETNAMESE
    except ImportError:  # replies reorganised: rely on kind/debug only
        return False
    return answer.kind == "invalid" and answer.text == NOT_VIETNAMESE


def _doc_types(answer: Answer) -> dict[str, str]:
    """doc_id -> document type, from the citations when they carry it, else from the retrieved chunks."""
    types = {h.chunk.doc_id: getattr(h.chunk, "doc_type", "") for h in answer.debug.get("hits", [])}
    for c in answer.citations:
        if getattr(c, "doc_type", None):
            types[c.doc_id] = c.doc_type
    return types


def judge(item: EvalItem, answer: Answer) -> ItemResult:
    hits = answer.debug.get("hits", [])[:5]
    rank = next((i + 1 for i, h in enumerate(hits) if h.chunk.doc_id in item.expected_docs), None)
    cited = [c.doc_id for c in answer.citations] if answer.found else []
    first = (answer.citations[0].doc_id, answer.citations[0].section) if answer.found and answer.citations else None
    facts_ok = facts_present(answer.text, item.expected_facts)
    forbidden = set(item.forbid_doc_types)
    types = _doc_types(answer) if forbidden else {}
    forbidden_cited = answer.found and any(types.get(d) in forbidden for d in cited)
    result = ItemResult(item, answer.found, False, rank, answer.debug.get("coverage", 0.0), answer.text,
                        cited, first, facts_ok, forbidden_cited, _taken_for_english(answer), answer.kind)
    if item.expect_found:
        result.correct = (answer.found and facts_ok and not forbidden_cited) or (item.accept_decline and not result.answered)
    else:
        result.correct = not result.answered
    return result


def evaluate(assistant: Assistant, items: list[EvalItem], mode: Mode = "hybrid") -> Report:
    return Report([judge(item, assistant.answer(item.question, mode=mode)) for item in items])


CALIBRATION_GRID: dict[str, tuple[float, ...]] = {
    "dense_weight": (0.0, 0.1, 0.15, 0.2, 0.3),
    "found_threshold": (0.5, 0.525, 0.55, 0.575, 0.6, 0.625, 0.65),
    "strict_threshold": (0.7, 0.75, 0.8, 0.85, 0.9),
    "procedure_threshold": (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9),
    "min_information": (1.0, 1.5, 2.0, 2.5),
}


def calibrate(assistant: Assistant, items: list[EvalItem],
              grid: dict[str, tuple[float, ...]] | None = None) -> tuple[list[dict], dict]:
    """One parameter at a time around the current policy (coordinate search): rows, and the proposed values.

    The policy object is restored afterwards; nothing is written here — the CLI saves the proposal beside
    the index for a person to review and copy into bot/policy.yaml.
    """
    policy = assistant.policy
    original = {name: getattr(policy, name) for name in (grid or CALIBRATION_GRID)}
    proposal = dict(original)
    rows = []

    def score(m: dict) -> tuple:
        return (m["answer_accuracy"] or 0, m.get("citation_accuracy") or 0, m.get("decline_accuracy") or 0)

    try:
        for name, values in (grid or CALIBRATION_GRID).items():
            best = None
            for value in values:
                for key, v in proposal.items():
                    setattr(policy, key, v)
                setattr(policy, name, value)
                assistant.searcher.dense_weight = policy.dense_weight
                m = evaluate(assistant, items).metrics()
                rows.append({"parameter": name, "value": value, **m})
                if best is None or score(m) > score(best[1]):
                    best = (value, m)
            proposal[name] = best[0]
    finally:
        for key, v in original.items():
            setattr(policy, key, v)
        assistant.searcher.dense_weight = policy.dense_weight
    return rows, proposal


# ------------------------------------------------------------------------------------------ reporting
def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))


CATEGORY_COLUMNS = (("acc", "answer_accuracy"), ("cite", "citation_accuracy"), ("fact", "fact_accuracy"),
                    ("decl", "decline_accuracy"), ("hit@5", "hit@5"), ("forb", "forbidden_citation_rate"))


def format_report(report: Report, title: str = "") -> str:
    """Aggregate figures and per-category counts and rates; never an item's text (safe for the test split)."""
    lines = [title] if title else []
    m = report.metrics()
    lines.append(f"Tổng: n={m['n']}  answer_accuracy={m['answer_accuracy']}  hit@5={m['hit@5']}  MRR={m['mrr']}")
    lines.append(f"  citation_accuracy={m['citation_accuracy']}  fact_accuracy={m['fact_accuracy']}  "
                 f"decline_accuracy={m['decline_accuracy']}  decline_with_pointer={m['decline_with_pointer']}")
    lines.append(f"  accuracy_no_diacritics={m['accuracy_no_diacritics']}  "
                 f"accuracy_with_diacritics={m['accuracy_with_diacritics']}  "
                 f"forbidden_citation_rate={m['forbidden_citation_rate']}  "
                 f"taken_for_english={m['taken_for_english']}")
    p = report.pair_metrics()
    if p["pairs"]:
        lines.append(f"  cặp có/không dấu: {p['pairs']}  cùng quyết định={p['pair_same_decision']}  "
                     f"cùng nguồn đầu={p['pair_same_first_source']}")
    lines.append(f"{'category':<24}{'n':>4}" + "".join(f"{h:>7}" for h, _ in CATEGORY_COLUMNS))
    for cat, cm in report.by_category().items():
        lines.append(f"{cat:<24}{cm['n']:>4}" + "".join(f"{_fmt(cm[k]):>7}" for _, k in CATEGORY_COLUMNS))
    return "\n".join(lines)
