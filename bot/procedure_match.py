"""A procedure matched to a question, and when several are close enough to let the citizen choose.

`ProcedureCatalog.match` (bot/procedures.py) ranks the catalogue; this module says what a match is (its coverage of
the question, how much of its name the question says) and whether the best two are a real choice or one service
seen twice (levels, channels, a special variant nobody asked for).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.procedure_names import RE_FULL_ONLINE, base_title, core_name
from bot.procedure_terms import _folded_words
from index.procedure_record import ProcedureRecord
from index.types import Document
from index.vietnamese import STOPWORDS, fold

# `ProcedureMatch.recognised`: any of these (coverage, name coverage) minimums — the name covers most of the
# question and the question some of the name; a short question exactly; or a chatty question names it.
RECOGNISE = ((0.6, 0.3), (0.95, 0.2), (0.3, 0.6))
OTHER_NAME_SAID = 0.6  # a rival whose name the question says no more of than this is no choice beside a name said whole
RIVAL_NAME_SHARE = 0.35  # a rival whose name the question says about a third as much of as the best's or less is no choice


@dataclass
class ProcedureMatch:
    record: ProcedureRecord
    doc: Document
    score: float  # ranking score (coverage × how much of the name is covered, + ward bonus)
    coverage: float  # share of the question's topical weight matched by the name: the confidence
    matched_name: str  # the name (title or alias) that matched
    name_coverage: float = 1.0  # share of the name's weight the question matched (low: a special variant)
    name_words: frozenset = frozenset()  # the name's topical syllables (a variant adds words to its base)
    via: list = field(default_factory=list)  # lexicon entries used ("sổ hồng" → …), for notes and "why"

    @property
    def title(self) -> str:
        return self.record.title

    @property
    def recognised(self) -> bool:
        """Evidence both ways: the name covers most of the question and the question much of the name,
        or a chatty question names the procedure almost fully. Measured on 150 citizen questions about
        catalogued procedures: 146 pass; of 25 meant to be outside it, 9 pass, most of them naming a real
        catalogue procedure (thẻ BHYT, hộ nghèo, mã số thuế)."""
        return any(self.coverage >= c and self.name_coverage >= n for c, n in RECOGNISE)

    @property
    def named_colloquially(self) -> bool:
        """The question used a colloquial name ("photo công chứng") whose catalogue wording is all in this
        procedure's name: the citizen named it, however long the official name is."""
        return any(set(_folded_words(e.means)) - STOPWORDS <= self.name_words for e in self.via)

    @property
    def code(self) -> str:
        return self.record.code

    def why(self) -> str:
        """For officers (console "why"): what matched, in plain Vietnamese."""
        via = f" qua tên gọi “{'”, “'.join(e.term for e in self.via)}”" if self.via else ""
        return (f"Nhận ra thủ tục “{self.title}” (mã {self.code}){via}: tên thủ tục khớp {self.coverage:.0%} "
                f"từ khoá của câu hỏi, câu hỏi nêu {self.name_coverage:.0%} tên thủ tục.")


class Matches(list):
    """ProcedureMatch list, best first; `ambiguous` says whether to let the citizen choose."""

    words: frozenset[str] = frozenset()  # the question's folded syllable pairs

    @property
    def ambiguous(self) -> bool:
        return ambiguous(self, words=self.words)


def _pairs(text: str) -> set[str]:
    w = re.findall(r"[a-z0-9]+", fold(text))
    return {f"{x}_{y}" for x, y in zip(w, w[1:])}


def _extra_pairs(a: ProcedureMatch, b: ProcedureMatch) -> set[str]:
    """Syllable pairs b's name adds to a's ("yeu_to", "nuoc_ngoai"): pairs, because single folded syllables
    collide ("tố" in "yếu tố" and "tờ" in "giấy tờ" are both "to")."""
    return _pairs(b.title) - _pairs(a.title)


def channel_siblings(a: ProcedureMatch, b: ProcedureMatch) -> bool:
    """One service published as a fully online procedure and an in-person (or partly online) one."""
    return (a.code != b.code and core_name(a.title) == core_name(b.title)
            and bool(RE_FULL_ONLINE.search(a.title)) != bool(RE_FULL_ONLINE.search(b.title)))


def ambiguous(matches: list[ProcedureMatch], margin: float = 0.05, named: float = 0.8,
              words: frozenset[str] = frozenset()) -> bool:
    """Let the citizen choose: the two best are different procedures (not one name at several levels),
    their scores are within `margin`, and the best is not named almost exactly by the question."""
    if len(matches) < 2:
        return False
    a, b = matches[0], matches[1]
    if base_title(a.title) == base_title(b.title) or channel_siblings(a, b) or a.score - b.score >= margin:
        return False
    if a.name_words and a.name_words < b.name_words and (b.coverage <= a.coverage
                                                          or (words and not _extra_pairs(a, b) & words)):
        return False  # b is a special variant of a ("… lưu động", "… có yếu tố nước ngoài") nobody asked for
    if a.name_coverage >= 0.95 and b.name_coverage <= OTHER_NAME_SAID:
        return False  # the question says a's whole name and little of b's: b only shares words ("… để đăng ký thường trú")
    if b.name_coverage < RIVAL_NAME_SHARE * a.name_coverage:
        return False  # b's name is hardly said ("đăng ký nuôi" of "… nuôi trồng thuỷ sản lồng bè"): no alternative
    return not (a.coverage >= 0.95 and a.name_coverage >= named)
