"""The seam between the answer pipeline and the national procedure catalogue.

The index stores each procedure record on its card passage (`Chunk.meta`); this module turns those
back into a `ProcedureCatalog` once per index version, and renders a procedure `Decision` (one
field, a card, or a choice between close candidates) as an `Answer` with its portal citation.
"""
from __future__ import annotations

from bot.decide import CHOICE, Decision
from bot.procedure_compose import compose_card, compose_choice, compose_field, compose_fields, with_sibling
from bot.procedures import ProcedureCatalog, channel_siblings, document_from_meta
from bot.types import Answer
from index.types import Chunk

MAX_REPLY = 700  # the reply body a phone shows before its sources


def catalog_from_chunks(chunks: list[Chunk]) -> ProcedureCatalog:
    return ProcedureCatalog.from_documents([document_from_meta(c.meta) for c in chunks])


def with_detail(body: str, detail: str, limit: int = MAX_REPLY) -> str:
    """The record's sentence that answers the question's own point first, then the field as usual; whole
    lines of the field are dropped from the end when both do not fit a phone screen."""
    lines = [f"Theo hồ sơ thủ tục: “{detail}” [1]"]
    for line in body.splitlines():
        if sum(len(x) + 1 for x in lines) + len(line) > limit:
            break
        lines.append(line)
    return "\n".join(lines)


def render_procedure(question: str, d: Decision) -> Answer:
    if d.route == CHOICE:
        reply = compose_choice(d.procedures)
        kind = "choice"
    elif len(d.fields) > 1:
        reply = compose_fields(d.procedures[0], d.fields)  # "cần giấy tờ gì, mất mấy ngày"
        kind = "answer"
    elif d.field:
        reply = compose_field(d.procedures[0], d.field)
        kind = "answer"
    else:
        reply = compose_card(d.procedures[0])
        kind = "answer"
    sibling = next((m for m in d.procedures[1:3] if channel_siblings(d.procedures[0], m)), None)
    if d.route != CHOICE and sibling is not None:
        reply = with_sibling(reply, sibling)
    body = with_detail(reply.text, d.units[0][0]) if d.route != CHOICE and d.units else reply.text
    text = body + ("\n\nNguồn:\n" + "\n".join(reply.sources) if reply.sources else "")
    return Answer(question, text, True, list(reply.citations), kind=kind, body=body,
                  sources=list(reply.sources), options=list(reply.options))
