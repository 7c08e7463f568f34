"""Recognise which national procedure a citizen means, and which of its fields is asked.

Names are matched on folded syllables and syllable pairs, IDF-weighted over the catalogue's own names, so
"khai sinh" finds "Thủ tục đăng ký khai sinh" without diacritics. Colloquial names ("sổ hồng", "cắt khẩu")
come from knowledge/lexicon/procedure_names.yaml: a question is scored both as written and with the
colloquial term replaced by the catalogue's wording, and each procedure keeps its better score.

Confidence is coverage: the share of the question's topical weight that the name matches. The ranking
score also multiplies in how much of the name the question covers, so a special variant ("… có yếu tố
nước ngoài", "… lưu động") loses to the general one unless the question names the special case.
Everything is numpy over an inverted index: about a millisecond per question for 2,642 names.
"""
from __future__ import annotations

import math
import re
import numpy as np

from bot.procedure_terms import (FIELDS, RE_SENTENCE_END, UNKNOWN_WEIGHT, Analyzer, _folded_words, accent_key,
                                 asked_field, asked_fields, default_lexicon_dir, load_procedure_lexicon, raw_tokens,
                                 weighted_terms)
from bot.procedure_names import (RE_FULL_ONLINE, RE_NAME_BOILERPLATE, RE_PAREN, action_heads, head_said, level_of,
                                 with_action, list_parts, unique_short_names,
                                 written_words)
from bot.procedure_match import Matches, ProcedureMatch, _pairs, ambiguous, channel_siblings
from bot.procedure_record_words import RecordWords, lexicon_terms
from bot.procedure_text import sections
from index.lexicon import Lexicon
from index.procedure_record import PROCEDURE_TYPE, ProcedureRecord, procedure_fields
from index.types import Document
from index.vietnamese import fold

__all__ = ["FIELDS", "ProcedureCatalog", "ProcedureMatch", "Matches", "ambiguous", "asked_field", "asked_fields",
           "channel_siblings",
           "default_lexicon_dir", "document_from_meta", "load_procedure_lexicon"]

WARD_LEVEL = "Cấp xã"
WARD_BONUS = 0.02  # ward-level variants win ties: citizens mostly do procedures at their ward
CITIZEN_BONUS = 0.03  # so do procedures citizens file themselves (not "theo yêu cầu của cơ quan …")
CITIZENS = re.compile(r"công dân|cá nhân|hộ gia đình", re.I)
NAME_SHARE = 0.45  # how much of the score depends on the name being covered (special variants lose)
ACCENT_MISMATCH = 0.5  # a name word spelled with other marks than the question's counts half ("đối" for "đổi")
MIN_EVIDENCE = 4.0  # matched IDF weight below which coverage is scaled down (one rare syllable ≈ 5–7)
PAREN_FACTOR = 0.4  # words in a name's parentheses explain rather than name: "(áp dụng cho cả trường hợp …)"
HEAD_FULL = 0.95  # a head names its record only when the question says all of it
SIBLING_MARGIN = 0.05  # channel siblings this close are one service: the question's channel picks the record
# A name's level suffix: the district level was abolished on 1 July 2025, and citizens rarely file at a ministry.
LEVEL_ADJUST = {"huyện": -0.03, "trung ương": -0.01, "bộ": -0.01}
# A procedure whose opening step or receiving address names a group it serves (knowledge/lexicon/
# restricted_audiences.yaml: "sĩ quan, chiến sĩ Công an nhân dân") that its name does not: ranked behind the
# citizens' procedure unless the question names that group.
AUDIENCE_FACTOR = 0.7
AUDIENCE_TEXT = 600  # characters of the steps read for the audience
# A citizen's question names the procedure and then their situation; words the record's own text has count too
# (`procedure_record_words`), for the best-named candidates only: those whose name the question says most of ("Nhật
# Bản" alone names no marriage) or whose long name's head it says.
BODY_NAME_MIN = 0.6
BODY_CANDIDATES = 12
HEAD_SAID = 5  # syllables of a long name's head said in a row that name it (as Policy.procedure_name_head)
# "Vợ chồng em hiếm muộn, định nhận một bé về nuôi. Đăng ký nuôi con nuôi ở xã thì lệ phí bao nhiêu?": sentences
# before the one that asks tell the situation. The question is also read with only its last sentences' words
# required — the fewest whose required words weigh this much (about two rare syllables); the others stay optional.
CORE_MIN_WEIGHT = 8.0


# -- catalogue ------------------------------------------------------------------------------------
class ProcedureCatalog:
    def __init__(self, docs: list[Document], records: list[ProcedureRecord], lexicon: Lexicon) -> None:
        self.docs = docs
        self.records = records
        self.analyzer = Analyzer(lexicon)
        self.record_words = RecordWords(docs)
        self._name_terms_cache: dict[int, dict] = {}
        self.actions = action_heads([r.title for r in records if r.status != "withdrawn"])
        names: list[tuple[int, str]] = []
        heads: list[bool] = []
        shorts = unique_short_names([r.title for r in records])
        for i, (doc, rec) in enumerate(zip(docs, records)):
            names.append((i, rec.title))
            heads.append(False)
            if shorts[i]:
                names.append((i, shorts[i]))
                heads.append(True)
            aliases = [str(a) for a in doc.extra.get("aliases") or [] if str(a).strip()]
            names.extend((i, a) for a in aliases)
            heads.extend(False for _ in aliases)
        self.is_head = np.array(heads, dtype=bool)
        self.name_record = np.array([i for i, _ in names], dtype=np.int64)
        self.name_text = [n for _, n in names]
        name_terms = [self._name_terms(n) for _, n in names]
        self.name_words = [frozenset(t for t in terms if "_" not in t) for terms in name_terms]
        # Comma-listed names ("Cấp lại, đổi, điều chỉnh thông tin trên sổ BHXH, thẻ BHYT") list alternatives:
        # a part the question does not touch at all does not count against how much of the name it covers.
        seg_of: list[dict[str, list[int]]] = []  # per name: term -> the global ids of the parts that have it
        seg_name: list[int] = []
        seg_lead: list[bool] = []  # short leading parts: the alternative actions a name lists ("Cấp lại, đổi, …")
        for j, (_, n) in enumerate(names):
            parts = list_parts(n)
            first = len(seg_name)
            where: dict[str, list[int]] = {}
            lead = len(parts) > 1
            for p, part in enumerate(parts):
                lead = lead and len(raw_tokens(part)) < LEAD_PART_SYLLABLES
                seg_name.append(j)
                seg_lead.append(lead)
                for t in self._name_terms(part) if len(parts) > 1 else ():
                    where.setdefault(t, []).append(first + p)
            # a pair across a comma belongs to no part
            seg_of.append({t: where.get(t, []) if len(parts) > 1 else [first] for t in name_terms[j]})
        self.seg_name = np.array(seg_name, dtype=np.int64)
        self.seg_lead = np.array(seg_lead, dtype=bool)
        postings: dict[str, list[int]] = {}
        seg_postings: dict[str, list[int]] = {}
        seg_index: dict[str, list[int]] = {}  # position in the term's name postings of each part posting
        factors: dict[str, list[float]] = {}
        for j, terms in enumerate(name_terms):
            for t, (f, _, _) in terms.items():
                postings.setdefault(t, []).append(j)
                for g in seg_of[j][t]:
                    seg_postings.setdefault(t, []).append(g)
                    seg_index.setdefault(t, []).append(len(postings[t]) - 1)
                factors.setdefault(t, []).append(f)
        n = max(len(names), 1)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}
        self.postings = {t: np.array(p, dtype=np.int64) for t, p in postings.items()}
        # the name's own weight of each posting: the name share counts what the name says, however much
        # weight the question gave the word (a long lexicon expansion weighs little per word)
        # … and as the name writes it: "dừng" (stop) is rare in names although folded "dung" is everywhere ("sử
        # dụng"), so a name saying "Dừng thực hiện …" is not covered by a question that never says it
        written = [{tok.folded: accent_key(tok.raw) for tok in reversed(raw_tokens(RE_NAME_BOILERPLATE.sub(" ", nm)))}
                   for _, nm in names]
        form_df: dict[tuple[str, str], int] = {}
        for forms in written:
            for key in forms.items():
                form_df[key] = form_df.get(key, 0) + 1

        def weight(t: str, j: int) -> float:
            form = written[j].get(t)
            if "_" in t or form is None:
                return self.idf[t]
            df = form_df[(t, form)]
            return max(self.idf[t], math.log(1 + (n - df + 0.5) / (df + 0.5)))

        self.name_weight = {t: np.array([weight(t, j) * f for j, f in zip(postings[t], fs)]) for t, fs in factors.items()}
        self.name_total = np.array([sum(weight(t, j) * f for t, (f, _, _) in terms.items()) or 1.0
                                    for j, terms in enumerate(name_terms)])
        self.seg_postings = {t: np.array(p, dtype=np.int64) for t, p in seg_postings.items()}
        self.seg_index = {t: np.array(p, dtype=np.int64) for t, p in seg_index.items()}
        seg_total = np.zeros(len(seg_name))
        for t, segs in self.seg_postings.items():
            seg_total[segs] += self.name_weight[t][self.seg_index[t]]
        self.seg_total = seg_total
        self.listed = np.bincount(self.seg_name, minlength=len(names)) > 1  # names with several parts
        accents: dict[str, dict[str, list[int]]] = {}  # folded syllable -> accented form -> name ids
        for j, (_, n) in enumerate(names):
            for tok in raw_tokens(n):
                ids = accents.setdefault(tok.folded, {}).setdefault(accent_key(tok.raw), [])
                if not ids or ids[-1] != j:
                    ids.append(j)
        # folded syllable -> accented form -> mask over its postings of the names written that way, or not written
        # at all (the syllable came from an abbreviation: "BHYT" is "bảo hiểm y tế" however the question marks it)
        self.accents = {}
        for t, forms in accents.items():
            if len(forms) > 1 and t in self.postings:
                unwritten = ~np.isin(self.postings[t], [j for ids in forms.values() for j in ids])
                self.accents[t] = {a: np.isin(self.postings[t], ids) | unwritten for a, ids in forms.items()}
        self.active = np.array([r.status != "withdrawn" for r in records], dtype=bool)
        self.ward = (np.array([WARD_LEVEL in r.levels for r in records], dtype=float) * WARD_BONUS
                     + np.array([bool(CITIZENS.search(r.applicants or "")) for r in records]) * CITIZEN_BONUS)
        for i, r in enumerate(records):
            self.ward[i] += LEVEL_ADJUST.get(level_of(r.title) or "", 0.0)
        self.by_code = {r.code: i for i, r in enumerate(records)}
        # matched as written (with marks) in the record: folded, "quân nhân" is also "hải quan nhận"
        audiences = [(" ".join(written_words(e.term)), " ".join(_folded_words(e.term)))
                     for e in lexicon.restricted_audiences]
        self.audiences: dict[int, set[str]] = {}  # record -> folded groups it serves that its name does not say
        for i, (doc, rec) in enumerate(zip(docs, records)):
            steps = sections(doc.body).get("Trình tự thực hiện", "")[:AUDIENCE_TEXT]
            text = f" {' '.join(written_words(steps + ' ; ' + (rec.receiving_address or '')))} "
            title = f" {' '.join(written_words(rec.title))} "
            hidden = {f for a, f in audiences if f" {a} " in text and f" {a} " not in title}
            if hidden:
                self.audiences[i] = hidden

    def _add_record_words(self, question, variants, best_score, best_cov, best_ncov, best_name, best_variant) -> None:
        """Raise, in place, the coverage and score of the best-named candidates by the question's words their
        record's text has (`procedure_record_words.BODY_FACTOR`)."""
        top = [int(i) for i in np.argsort(-best_score, kind="stable")[:BODY_CANDIDATES] if best_score[i] > 0]
        folded = fold(question)
        # a long official name said by its head ("chứng thực bản sao từ bản chính …") is named, however little
        # of its tail the question says: its words are no other record's situation words
        heads = {i for i in top if head_said(folded, self.records[i].title) >= HEAD_SAID}
        named = [i for i in top if best_ncov[i] >= BODY_NAME_MIN or i in heads]
        terms_of = {i: self._cached_name_terms(int(best_name[i])) for i in named}
        headed = set().union(*(terms_of[j] for j in heads))
        for i in named:
            if best_cov[i] >= 1.0:
                continue
            # a word another candidate's name says names that procedure ("công chứng bản sao sổ đỏ": the sổ đỏ
            # record's papers say "bản sao", the certification's name says it) when the question says as much of that
            # name as of this one's: it is no situation word of this one
            others = set().union(*(t for j, t in terms_of.items() if j != i and best_ncov[j] >= best_ncov[i]))
            if i not in heads:
                others |= headed
            terms, _, lexicon = variants[best_variant[i]]
            gain = self.record_words.gain(i, terms, self.idf, terms_of[i], others | lexicon)
            if gain > 0 and best_cov[i] > 0:
                cov = min(1.0, best_cov[i] + gain)
                best_score[i] *= cov / best_cov[i]
                best_cov[i] = cov

    def _cached_name_terms(self, name: int) -> dict:
        terms = self._name_terms_cache.get(name)
        if terms is None:
            terms = self._name_terms_cache[name] = self._name_terms(self.name_text[name])
        return terms

    def _name_terms(self, name: str) -> dict[str, tuple[float, bool, str | None]]:
        name = RE_NAME_BOILERPLATE.sub(" ", name)
        outside = weighted_terms(self.analyzer.tokens(RE_PAREN.sub(" , ", name), with_names=False)[0])
        for inner in RE_PAREN.findall(name):
            for t, (f, opt, acc) in weighted_terms(self.analyzer.tokens(inner, with_names=False)[0]).items():
                if t not in outside:
                    outside[t] = (f * PAREN_FACTOR, opt, acc)
        return outside

    @classmethod
    def from_documents(cls, docs: list[Document], lexicon: Lexicon | None = None) -> "ProcedureCatalog":
        procs = [d for d in docs if d.type == PROCEDURE_TYPE]
        return cls(procs, [procedure_fields(d) for d in procs], lexicon or load_procedure_lexicon())

    def __len__(self) -> int:
        return len(self.records)

    def get(self, code: str) -> ProcedureMatch | None:
        i = self.by_code.get(code)
        if i is None:
            return None
        return ProcedureMatch(self.records[i], self.docs[i], 1.0, 1.0, self.records[i].title)

    def _score(self, terms: dict[str, tuple[float, bool, str | None]]) -> tuple[np.ndarray, ...] | None:
        """Coverage counts required words only (optional ones never raise confidence); the name share
        counts every matched word, so "cho con" still prefers "nhận cha, mẹ, con" among equal candidates."""
        n = len(self.name_text)
        acc_name = np.zeros(n)
        acc_seg = np.zeros(len(self.seg_name))
        acc_req = np.zeros(n)
        required = 0.0
        for t, (factor, optional, accent) in terms.items():
            ids = self.postings.get(t)
            if ids is None:
                if not optional and "_" not in t:
                    required += UNKNOWN_WEIGHT
                continue
            w = self.idf[t] * factor
            same = self.accents.get(t, {}).get(accent) if accent else None
            # the question's marks exist in some names: names writing the syllable otherwise get half
            credit = 1.0 if same is None else np.where(same, 1.0, ACCENT_MISMATCH)
            contrib = self.name_weight[t] * credit
            acc_name[ids] += contrib
            segs = self.seg_postings.get(t)
            if segs is not None:
                acc_seg[segs] += contrib[self.seg_index[t]]
            if not optional:
                acc_req[ids] += w * credit
                required += w
        if required <= 0:
            return None
        # A question whose only topic word is common ("việc") is weak evidence however fully it is matched.
        cov = acc_req / required * np.minimum(1.0, acc_req / MIN_EVIDENCE)
        # A listed name: counting only the parts the question says at least half of, it may be covered
        # more; half of that gain counts, since a bare object part ("BHYT") can stand in for an unsaid action.
        name_cov = np.minimum(acc_name / self.name_total, 1.0)
        kept = acc_seg >= LIST_PART_MIN * self.seg_total
        den = np.bincount(self.seg_name, weights=self.seg_total * kept, minlength=n)
        num = np.bincount(self.seg_name, weights=acc_seg * kept, minlength=n)
        # … and the question says one of its listed actions and something else: a name's objects ("…, trợ cấp
        # thất nghiệp") without its action ("Ủy quyền lĩnh thay …"), or an action alone ("Thanh toán"), do not
        # name it
        said_action = np.bincount(self.seg_name, weights=kept & self.seg_lead, minlength=n) > 0
        said_object = np.bincount(self.seg_name, weights=kept & ~self.seg_lead, minlength=n) > 0
        listed = self.listed & (den > 0) & said_action & said_object
        parts_cov = np.minimum(num / np.where(listed, den, 1.0), 1.0)
        name_cov = np.where(listed & (parts_cov > name_cov), (name_cov + parts_cov) / 2, name_cov)
        score = cov * ((1 - NAME_SHARE) + NAME_SHARE * name_cov)
        score = np.where(self.is_head & (name_cov < HEAD_FULL), 0.0, score)
        return score, cov, name_cov

    def match(self, question: str, k: int = 3) -> Matches:
        """The k likeliest procedures for a question, best first (withdrawn ones never)."""
        variants = []
        named, used, _ = self.analyzer.tokens(question, with_names=True, proper=True)
        # capitalised places are optional (`proper_names`), but not where a lexicon term names them ("Hàn Quốc" is a
        # foreign element): then only the variant that read the term marks them
        plain, _, _ = self.analyzer.tokens(question, with_names=False, proper=not used)
        variants.append((weighted_terms(plain), [], set()))
        if used:
            # the catalogue's wording of a colloquial name: name words, never the citizen's situation
            variants.append((weighted_terms(named), used, lexicon_terms(named)))
        acted = with_action(question, self.actions)  # "làm khai tử" read as "đăng ký khai tử" too
        if acted != question:
            variants.append((weighted_terms(self.analyzer.tokens(acted, with_names=False, proper=not used)[0]), [], set()))
        variants += self._asking_sentence_variants(question, variants, used)
        best_score = np.zeros(len(self.records))
        best_cov = np.zeros(len(self.records))
        best_ncov = np.zeros(len(self.records))
        best_name = np.full(len(self.records), -1)
        best_variant = np.zeros(len(self.records), dtype=np.int64)
        for v, (terms, _, _) in enumerate(variants):
            scored = self._score(terms)
            if scored is None:
                continue
            score, cov, name_cov = scored
            order = np.argsort(score)  # ascending: the best alias of a record is written last
            rec = self.name_record[order]
            better = score[order] > best_score[rec]
            idx = order[better]
            r = self.name_record[idx]
            best_score[r], best_cov[r], best_name[r], best_variant[r] = score[idx], cov[idx], idx, v
            best_ncov[r] = name_cov[idx]
        self._add_record_words(question, variants, best_score, best_cov, best_ncov, best_name, best_variant)
        final = np.where(self.active & (best_score > 0), best_score + self.ward, 0.0)
        if self.audiences:
            asked = f" {' '.join(_folded_words(question))} "
            for i, groups in self.audiences.items():
                if final[i] > 0 and not any(f" {a} " in asked for a in groups):
                    final[i] *= AUDIENCE_FACTOR
        top = np.argsort(-final, kind="stable")[:k]
        out = Matches()
        out.words = frozenset(_pairs(question))
        for i in top:
            if final[i] <= 0:
                break
            out.append(ProcedureMatch(self.records[i], self.docs[i], round(float(final[i]), 4),
                                      round(float(best_cov[i]), 4), self.name_text[best_name[i]],
                                      round(float(best_ncov[i]), 4), self.name_words[best_name[i]],
                                      list(variants[best_variant[i]][1])))
        if len(out) > 1 and channel_siblings(out[0], out[1]) and out[0].score - out[1].score < SIBLING_MARGIN:
            online = "online" in self.asked_fields(question)
            if bool(RE_FULL_ONLINE.search(out[0].title)) != online:  # in person unless asked online
                out[0], out[1] = out[1], out[0]
        return out

    def _asking_sentence_variants(self, question: str, variants: list, used: list) -> list:
        """Each variant again with only the words of the question's last sentences required (`CORE_MIN_WEIGHT`)."""
        sentences = [t for t in RE_SENTENCE_END.split(question.strip()) if t.strip()]
        for start in range(len(sentences) - 1, 0, -1):
            tail = with_action(" ".join(sentences[start:]), self.actions)
            core = weighted_terms(self.analyzer.tokens(tail, with_names=bool(used), proper=not used)[0])
            weight = sum(self.idf.get(t, 0.0 if "_" in t else UNKNOWN_WEIGHT) * f
                         for t, (f, optional, _) in core.items() if not optional)
            if weight >= CORE_MIN_WEIGHT:
                return [({t: (f, optional or t not in core, acc) for t, (f, optional, acc) in terms.items()}, names, lex)
                        for terms, names, lex in variants]
        return []

    def asked_fields(self, question: str) -> list[str]:
        return asked_fields(question, self.analyzer)

    def asked_field(self, question: str) -> str | None:
        fields = self.asked_fields(question)
        return fields[0] if fields else None


LEAD_PART_SYLLABLES = 3  # a listed name's leading parts shorter than this are alternative actions ("Cấp lại, đổi, …")
LIST_PART_MIN = 0.5  # share of a listed name's part the question must say for the part to count
def document_from_meta(meta: dict) -> Document:
    """A procedure Document back from an index chunk's `meta` (front matter + body)."""
    import dataclasses

    meta = dict(meta)
    known = {f.name for f in dataclasses.fields(Document)} - {"extra"}
    base = {k: meta.pop(k) for k in list(meta) if k in known}
    return Document(**{"body": "", **base}, extra=meta)
