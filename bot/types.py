"""What the core hands to every channel."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.chunk import CARD_SECTION, display_date


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    source: str | None
    text: str  # the passage
    score: float
    date: str | None = None

    def label(self) -> str:
        """'[1] Kế hoạch …, mục II > 1, ngày 26/01/2026' — what citizens see under an answer."""
        parts = [self.title]
        if self.section and self.section not in (self.title, CARD_SECTION):
            parts.append(f"mục {self.section}")
        if self.date and f"cập nhật {display_date(self.date)}" not in self.title:  # ward profiles date their title
            parts.append(f"ngày {display_date(self.date)}" if "-" in self.date and len(self.date) == 10
                         else display_date(self.date))
        return f"[{self.n}] " + ", ".join(parts)


@dataclass
class Answer:
    question: str
    text: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    kind: str = "answer"  # answer | not_found | smalltalk | invalid | choice
    timings_ms: dict[str, float] = field(default_factory=dict)
    debug: dict = field(default_factory=dict)  # retrieval evidence for officers (console, eval)
    body: str = ""  # the reply without its sources (about 700 characters at most)
    sources: list[str] = field(default_factory=list)  # "[1] title, section, date" lines, shown behind a button
    options: list[dict] = field(default_factory=list)  # choices offered: [{"code", "title"}]
    decision: object | None = None  # bot.decide.Decision: why it answered or declined

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "found": self.found,
            "citations": [
                {k: v for k, v in asdict(c).items() if k in ("n", "doc_id", "title", "section", "source", "text", "score")}
                for c in self.citations
            ],
            "timings_ms": self.timings_ms,
            "kind": self.kind,
            "body": self.body or self.text,
            "sources": self.sources,
            "options": self.options,
            "rule": getattr(self.decision, "rule", None),
        }
