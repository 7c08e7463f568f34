"""Retrieve: the passages (and procedures) that may answer an understood question.

Each document knows its type (plan, report, guidance, procedure, official letter, ward profile) and scope
(ward, province, national). A question naming a ward (or from a chat that set one) prefers that ward's
documents, then its province's, then national ones; a ward profile answers only for its own ward. A year
named prefers that year; with no year, each ward's newest plan. National procedures are recognised by name
through the procedure catalogue, not ranked against plan passages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.policy import Policy
from bot.understand import WARD_UNITS, Understanding
from index.chunk import PROCEDURE_TYPE, PROFILE_TYPE
from index.metadata import ward_key


def city_key(city: str) -> str:
    """'thành phố Hải Phòng', 'Tỉnh Quảng Trị', 'Hải Phòng' → 'hai phong'."""
    return re.sub(r"^(thanh pho|tinh|tp)\s+", "", " ".join(re.findall(r"[a-z0-9]+", fold(city))))
from index.search import Mode, Searcher
from index.types import Chunk, Hit
from index.vietnamese import fold


@dataclass
class Retrieved:
    hits: list[Hit]  # passages of plans, reports, guidance (procedure cards excluded)
    procedures: list = field(default_factory=list)  # ProcedureMatch, best first


@dataclass
class DocInfo:
    doc_id: str
    title: str
    type: str
    scope: str | None
    ward: str | None  # ward key ("an hai")
    year: int | None
    city: str | None = None  # folded province or city ("quang tri", "hai phong")


class Retriever:
    """Built once per index version: document facts, ward names, and the procedure catalogue."""

    def __init__(self, searcher: Searcher, policy: Policy, catalog=None) -> None:
        self.searcher = searcher
        self.policy = policy
        self.catalog = catalog
        self.docs: dict[str, DocInfo] = {}
        for c in searcher.chunks:
            if c.doc_id not in self.docs:
                city = (c.meta or {}).get("city")
                self.docs[c.doc_id] = DocInfo(c.doc_id, c.title, c.doc_type, c.scope, ward_key(c.ward), c.year,
                                              city_key(city) if city else None)
        self.city_names = {d.city: d.city for d in self.docs.values() if d.city}
        self.ward_names = self._ward_names(searcher.chunks)
        self.newest = self._newest_plans()
        self._exclude = {d.doc_id for d in self.docs.values() if d.type == PROCEDURE_TYPE}
        self.ward_cities = {d.ward: d.city for d in self.docs.values() if d.scope == "ward" and d.ward and d.city}

    @staticmethod
    def _ward_names(chunks: list[Chunk]) -> dict[str, str]:
        """Folded names a citizen may use for each ward → the ward as documents write it; former names too."""
        names: dict[str, str] = {}
        for c in chunks:
            key = ward_key(c.ward)
            if key:
                names[key] = fold(c.ward)  # the document's own wording: "xa phu thai"
                # a former name counts only with its unit ("phường Phú Thứ"): bare, it may be a common phrase
                # ("phụ thu" folds to "phu thu")
                for former in (c.meta or {}).get("former_names") or []:
                    old = ward_key(fold(str(former)))
                    for unit in WARD_UNITS if old else ():
                        names[f"{unit} {old}"] = fold(c.ward)
        names.pop("", None)
        return names

    def _newest_plans(self) -> set[str]:
        by_ward: dict[str, list[tuple[int, str]]] = {}
        for d in self.docs.values():
            if d.ward and d.year:
                by_ward.setdefault(d.ward, []).append((d.year, d.doc_id))
        newest: set[str] = set()
        for plans in by_ward.values():
            top = max(year for year, _ in plans)
            if len(plans) > 1:
                newest |= {doc for year, doc in plans if year == top}
        return newest

    def boosts(self, u: Understanding) -> dict[str, float]:
        p = self.policy
        factors: dict[str, float] = {}
        homes = {self.ward_cities[w] for w in u.wards if w in self.ward_cities}  # provinces of the wards asked
        for d in self.docs.values():
            if d.doc_id in self._exclude:
                factors[d.doc_id] = 0.0
                continue
            if d.type == PROFILE_TYPE:  # a ward's hours and phone answer for that ward only, never for another
                factors[d.doc_id] = p.ward_boost if d.ward in u.wards else 0.0
                continue
            if d.scope == "national":
                continue
            f = 1.0
            if u.wards and d.scope == "ward":
                f *= p.ward_boost if d.ward in u.wards else p.other_ward_factor
            if u.cities and d.city:  # "… của Hải Phòng": another province's documents do not answer
                f *= p.ward_boost if d.city in u.cities else p.other_ward_factor
            elif homes and d.scope == "province" and d.city:  # the ward's province next, then national documents
                f *= p.province_boost if d.city in homes else p.other_ward_factor
            elif d.scope == "province":  # a province's plans and reports answer questions about that province;
                f *= p.unnamed_province_factor  # asked about nothing local, the national notes and procedures first
            if u.years:
                f *= p.year_boost if d.year in u.years else p.other_year_factor
            elif d.doc_id in self.newest:
                f *= p.newest_plan_boost
            factors[d.doc_id] = f
        return factors

    def retrieve(self, u: Understanding, mode: Mode = "hybrid", k: int = 5) -> Retrieved:
        query = u.restored or u.text
        hits = self.searcher.search(query, k, mode=mode, boosts=self.boosts(u), keyword_query=u.folded)
        hits = [h for h in hits if h.score > 0 and h.chunk.doc_id not in self._exclude]
        procedures = self.catalog.match(u.text, k=3) if self.catalog is not None else []
        return Retrieved(hits, procedures)
