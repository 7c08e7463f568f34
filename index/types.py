"""Plain data types passed between pipeline stages."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Document:
    """A cleaned knowledge document: Markdown body plus the officer-editable front matter."""

    id: str
    title: str
    body: str
    type: str = "kế hoạch"
    number: str | None = None
    date: str | None = None  # ISO "2026-01-26", or partial "2025-08" when the day is blank
    issuer: str | None = None
    ward: str | None = None
    city: str | None = None
    year: int | None = None
    period: str | None = None
    signer: str | None = None
    source: str | None = None
    scope: str | None = None  # ward | province | national: who the document speaks for
    extra: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        data = asdict(self)
        data.pop("body")
        extra = data.pop("extra")
        return {**data, **extra}


@dataclass
class Chunk:
    """One passage of a document, as indexed. `text` starts with the header that names doc and section."""

    id: str
    doc_id: str
    section: str
    text: str  # header + passage: what the keyword and vector indexes see
    passage: str  # the passage alone: what answers quote
    title: str
    date: str | None = None
    ward: str | None = None
    year: int | None = None
    doc_type: str = "kế hoạch"
    source: str | None = None
    scope: str | None = None
    meta: dict = field(default_factory=dict)  # the document's front matter, on its first chunk only


@dataclass
class Hit:
    """A retrieved chunk with the evidence behind its rank."""

    chunk: Chunk
    score: float
    keyword_score: float = 0.0
    dense_score: float = 0.0
    keyword_rank: int | None = None
    dense_rank: int | None = None
