"""The checks a new index version must pass before it serves: sane counts, every document found by its
own title, and the eval set answered about as well as by the live version (see `index.refresh.validate`)."""
from __future__ import annotations

from index import store
from index.chunk import PROCEDURE_TYPE
from index.embed import Embedder
from index.settings import Settings
from index.types import Document


def title_query(doc_title: str, ward: str | None, year: int | None) -> str:
    """A document's title, plus ward and year when the title does not say them (wards share titles)."""
    query = doc_title
    if ward and ward.lower() not in query.lower():
        query += f" {ward}"
    if year and str(year) not in query:
        query += f" năm {year}"
    return query


def check_titles(index: store.StoredIndex, embedder: Embedder, settings: Settings,
                 only: set[str] | None = None) -> list[str]:
    """Documents not in the top 5 when searched by their own title.

    With 2,600 procedure records, searching every title on every refresh costs minutes: `only` limits the
    check to the documents a refresh added or changed (plans and guidance are few and always checked).
    Procedure cards are searched by keyword: their title is their whole passage.
    """
    from index.search import Searcher

    searcher = Searcher(index, embedder, settings.dense_weight)
    cards = {c.doc_id: c for c in index.chunks if c.id.endswith("#0")
             and (only is None or c.doc_id in only or c.doc_type != PROCEDURE_TYPE)}
    queries = {doc_id: title_query(c.title, c.ward, c.year) for doc_id, c in cards.items()}
    dense = [q for d, q in queries.items() if cards[d].doc_type != PROCEDURE_TYPE]
    if dense:
        embedder.embed_queries(dense)  # one batch warms the query cache
    missing = []
    for doc_id, query in queries.items():
        mode = "keyword" if cards[doc_id].doc_type == PROCEDURE_TYPE else "hybrid"
        hits = searcher.search(query, 5, mode=mode, keyword_query=searcher.correct(query))
        if doc_id not in {h.chunk.doc_id for h in hits}:
            missing.append(doc_id)
    return missing


def check_counts(index: store.StoredIndex, docs: list[Document], live: store.StoredIndex | None,
                 removed: list[str]) -> list[str]:
    problems = []
    per_doc: dict[str, int] = {}
    for c in index.chunks:
        per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
    if set(index.manifest.documents) != {d.id for d in docs}:
        problems.append("Số văn bản trong chỉ mục mới không khớp thư mục tri thức.")
    # A national procedure record is one card passage by design; any other document needs body passages too.
    empty = [d.id for d in docs if per_doc.get(d.id, 0) < (1 if d.type == PROCEDURE_TYPE else 2)]
    if empty:
        problems.append(f"Văn bản không có đoạn nội dung nào (chỉ có phần thông tin): {', '.join(empty)}.")
    if index.vectors.ntotal != len(index.chunks) or not index.chunks:
        problems.append("Số vector không khớp số đoạn.")
    if live is not None:
        kept = sum(1 for c in live.chunks if c.doc_id not in removed)
        if kept and len(index.chunks) < 0.5 * kept:
            problems.append(f"Chỉ mục mới chỉ còn {len(index.chunks)} đoạn so với {kept} đoạn của các văn bản "
                            "vẫn còn: có thể thư mục tri thức bị hỏng.")
    return problems


def eval_report(index: store.StoredIndex, embedder: Embedder, settings: Settings, items: list):
    """Every eval question answered from `index`: a bot.evaluate.Report (per-question results and metrics)."""
    from bot.answer import Assistant
    from bot.evaluate import evaluate
    from index.search import Searcher

    assistant = Assistant(settings, Searcher(index, embedder, settings.dense_weight))
    return evaluate(assistant, items)


def eval_accuracy(index: store.StoredIndex, embedder: Embedder, settings: Settings, items: list) -> dict:
    return eval_report(index, embedder, settings, items).metrics()
