"""Decide: does the knowledge base answer this question, and with what? The only place "not found" is made.

A `Decision` names the rule that fired, the evidence it read and, in plain Vietnamese, why — the
officers' console shows that sentence; the numbers stay behind a "technical details" toggle.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from dataclasses import field as dc_field

from bot.document_card import card_answer, names_other_document
from bot.evidence import (FIGURE_KINDS, RE_BASIS_QUESTION, RE_PHONE_NUMBER, context_terms, is_agency_section,
                          list_items, merge_passages, section_leaf, select_sentences, split_units, written_marks)
from bot.policy import Policy
from bot.procedure_detail import deadline_sentence, detail_sentence, who_sentence
from bot.procedure_names import head_said
from bot.retrieve import Retrieved
from bot.understand import RE_YEAR, Understanding, marked_content, ward_key
from index.chunk import CARD_SECTION
from index.search import Searcher
from index.types import Hit
from index.vietnamese import STOPWORDS, content_tokens, normalized_tokens

# Routes a decision can take; compose renders each.
ANSWER, LIST, PROCEDURE, CHOICE = "answer", "list", "procedure", "choice"
OFFICE_SOURCES = {"hướng dẫn", "thông tin phường"}  # guidance and ward profiles state hours and addresses
GENERAL_FIELDS = {"papers", "fee", "conditions", "steps", "who"}  # "hồ sơ của tôi cần giấy gì" is general
# Guidance notes are written as one short section per citizen question ("Gọi 1800.1096 có mất tiền không"):
# that section, whole, is the answer — sentences picked from neighbouring sections answer other questions.
WHOLE_SECTION_TYPES = {"hướng dẫn", "thông tin phường"}
WHOLE_SECTION_CHARS = 650
RE_ENDED = re.compile(r"[.;!?:…)”\"]\s*$")  # a unit that ends a sentence
RE_STOP = re.compile(r"[.;!?](?=\s|$)")  # where the rest of a cut sentence ends
MAX_COMPLETION = 300  # characters a cut sentence may borrow from the next passage
CLOSE_SECTION = 0.8  # a section this close to the best passage may answer instead (phone asked, card section)
# Words in every office's name ("Phòng …", "Ủy ban nhân dân …"): they name no office in particular.
OFFICE_WORDS = {"phong", "ban", "xa", "phuong", "co", "quan", "don", "vi", "uy", "nhan", "dan", "hoi", "dong"}
NOT_FOUND, NO_PROCEDURE, FIXED, VAGUE, PERSONAL = "not_found", "no_procedure", "fixed", "vague", "personal"
SANCTION = "sanction"  # a fine is asked: records state fees, never fines
RE_PHONE_ASKED = re.compile(r"\b(so dien thoai|dien thoai|hotline|duong day nong)\b")  # folded; not "số mấy"
NO_FIGURE = "no_figure"  # a procedure is named, a figure none of its fields hold is asked, and no sentence states it


@dataclass
class Decision:
    found: bool
    route: str  # answer | list | procedure | choice | not_found | no_procedure | no_figure | sanction | personal | fixed
    rule: str  # short id of the rule that fired, for eval and the console
    reason: str  # plain Vietnamese, for officers
    coverage: float = 0.0
    threshold: float = 0.0
    hits: list[Hit] = dc_field(default_factory=list)  # the passages considered, best first
    units: list[tuple[str, int]] = dc_field(default_factory=list)  # (sentence or item, index into hits)
    section: tuple[str, list[str], str] | None = None  # (intro, items, whole text) of a section that lists the answer
    procedures: list = dc_field(default_factory=list)  # ProcedureMatch candidates (route procedure/choice)
    field: str | None = None  # the procedure field asked (the first, when several)
    fields: list[str] = dc_field(default_factory=list)
    figure_asked: bool = False  # a figure or a decision's number is the answer: a long sentence is never cut before it



class Decider:
    def __init__(self, searcher: Searcher, policy: Policy) -> None:
        self.searcher = searcher
        self.policy = policy
        # Chunks of each section in reading order: a list answer quotes the whole section, not a fragment.
        self.sections: dict[tuple[str, str], list[int]] = {}
        self.cards: dict[str, int] = {}  # each document's card: who signed it, its number and date
        # the years each ward's documents are for or speak of: "kế hoạch năm 2026 của xã Phú Thái" when only its
        # 2025 plan is here is not answered from the 2025 one
        self.ward_years: dict[str, set[int]] = {}
        for i, c in enumerate(searcher.chunks):
            if c.ward:
                years = self.ward_years.setdefault(ward_key(c.ward), set())
                years.update({c.year} if c.year else set())
                years.update(int(y) for y in RE_YEAR.findall(c.passage))
            if c.section != CARD_SECTION:
                self.sections.setdefault((c.doc_id, c.section), []).append(i)
            else:
                self.cards.setdefault(c.doc_id, i)
        # Each document's sections with their heading's syllable pairs, for the evidence a heading brings in.
        self.doc_sections: dict[str, list[tuple[str, set[str]]]] = {}
        for doc, section in self.sections:
            leaf = normalized_tokens(section_leaf(section))
            self.doc_sections.setdefault(doc, []).append((section, {f"{a}_{b}" for a, b in zip(leaf, leaf[1:])}))

    def information(self, u: Understanding) -> float:
        """How much a question says: the IDF mass of its topic syllables (unknown words weigh most)."""
        keyword = self.searcher.index.keyword
        return sum(keyword.idf(t) for t in set(content_tokens(normalized_tokens(u.folded))))

    def coverage(self, u: Understanding, hits: list[Hit]) -> float:
        return max((self.searcher.coverage(u.asked or u.folded, h, u.made_pairs) for h in hits[:3]), default=0.0)

    def decide(self, u: Understanding, found: Retrieved) -> Decision:
        if u.kind != "question":
            return Decision(False, FIXED, u.kind, "Tin nhắn không phải câu hỏi cần tra cứu (chào hỏi, trống, "
                                                   "quá dài hoặc không phải tiếng Việt).")
        if self.information(u) < self.policy.min_information:
            return Decision(False, VAGUE, "too_vague", "Câu hỏi có quá ít từ mang nội dung (ví dụ “cần giúp đỡ”), "
                            "nên trợ lý mời người dân hỏi cụ thể hơn thay vì đoán.", hits=found.hits)
        if u.personal_file and u.procedure_field not in GENERAL_FIELDS:
            return Decision(False, PERSONAL, "personal_file", "Câu hỏi về hồ sơ riêng của người hỏi; chỉ cơ quan đang "
                            "giải quyết mới biết, nên trợ lý chỉ cách tra cứu và nơi hỏi.", hits=found.hits)
        plan_cov = self.coverage(u, found.hits)
        if u.asks_sanction and not self._states_fines(found):
            return Decision(False, SANCTION, "sanction_not_in_knowledge", "Câu hỏi hỏi mức xử phạt; hồ sơ thủ tục chỉ "
                            "nêu lệ phí, không nêu tiền phạt, nên trợ lý không đưa lệ phí ra thay mà chỉ nơi hỏi.",
                            coverage=plan_cov, hits=found.hits)
        procedure = self._procedure(u, found, plan_cov)
        if procedure is not None:
            return procedure
        if u.other_wards and not u.wards and found.hits and found.hits[0].chunk.scope == "ward":
            return Decision(False, NOT_FOUND, "ward_not_in_knowledge", "Câu hỏi nêu một xã, phường mà kho tri thức "
                            "chưa có văn bản nào; trợ lý không lấy kế hoạch của xã, phường khác để trả lời thay.",
                            coverage=plan_cov, hits=found.hits)
        missing = sorted(w for w in u.wards if w in self.ward_years and u.years and not u.years & self.ward_years[w])
        if missing:
            return Decision(False, NOT_FOUND, "year_not_in_knowledge", "Câu hỏi nêu một xã, phường và một năm mà kho "
                            "tri thức chưa có văn bản nào của xã, phường đó nói tới; trợ lý không lấy văn bản năm khác "
                            "để trả lời thay.", coverage=plan_cov, hits=found.hits)
        if u.asks_office and (not found.hits or found.hits[0].chunk.doc_type not in OFFICE_SOURCES):
            return Decision(False, NOT_FOUND, "office_info_not_in_plans", "Câu hỏi về giờ làm việc, trụ sở hoặc người "
                            "đang giữ chức vụ: kế hoạch, báo cáo không phải nguồn cho những điều này, nên trợ lý chỉ "
                            "người dân tới bộ phận một cửa và tổng đài.", coverage=plan_cov, hits=found.hits)
        # A report's tables name procedures ("Cấp giấy phép hoạt động phòng khám … 30 20"); they say how many were
        # done, never where, how or for how much: a procedure question must be matched almost whole there.
        report = bool(found.hits) and found.hits[0].chunk.doc_type == "báo cáo" and bool(u.procedure_fields)
        strict = u.asks_office or u.asks_detail or report
        threshold = self.policy.strict_threshold if strict else self.policy.found_threshold
        if found.hits and found.hits[0].chunk.doc_type == "hướng dẫn":
            # Guidance is written in the portal's general words ("nộp hồ sơ", "trực tuyến"): it must cover more.
            threshold = max(threshold, self.policy.guidance_threshold)
        base = dict(coverage=plan_cov, threshold=threshold, hits=found.hits)
        if plan_cov < threshold:
            if u.asks_detail:
                return Decision(False, NO_PROCEDURE, "procedure_not_in_catalogue",
                                "Câu hỏi về hồ sơ, lệ phí hoặc thời hạn của một thủ tục, nhưng không nhận ra thủ tục "
                                "nào trong danh mục; trợ lý chỉ người dân tới Cổng Dịch vụ công và tổng đài.", **base)
            why = "khớp gần trọn câu hỏi" if strict else "khớp đủ phần chính của câu hỏi"
            return Decision(False, NOT_FOUND, "low_coverage_strict" if strict else "low_coverage",
                            f"Không có đoạn văn nào {why}, nên trợ lý không trả lời để tránh đoán.", **base)
        hits = self._same_document(found.hits)
        card = self._card(u, hits)
        if card:  # "ai ký, chức vụ gì": the card says it; the text's "công chức", "công vụ" only look alike
            units = card_answer(u, card[0], self.searcher.index.keyword.idf)
            if units:
                return Decision(True, ANSWER, "document_card", "Câu hỏi hỏi về chính văn bản (người ký, số hiệu, ngày "
                                "ban hành); trợ lý trả lời từ phần thông tin văn bản.", units=units,
                                **{**base, "hits": card})
        if u.asks_tasks:
            section = self._office_tasks(u, hits)
            if section is not None:
                return Decision(True, LIST, "office_tasks", "Câu hỏi hỏi một phòng, ban được giao làm gì; trợ lý "
                                "trích cả mục của phòng, ban đó trong phần tổ chức thực hiện, theo đúng thứ tự.",
                                section=section[1], **{**base, "hits": [section[0]]})
        if u.asks_list:
            section = self._list_section(u, hits)
            if section is not None and not self._sentence_names_more(u, hits, section):
                return Decision(True, LIST, "list_section", "Câu hỏi hỏi một danh sách; trợ lý trích cả mục "
                                "liệt kê trong văn bản, theo đúng thứ tự.", section=section[1],
                                **{**base, "hits": [section[0]]})
        section = self._answering_section(u, hits)
        if section is not None and u.figure_kind == "count" and not any(
                FIGURE_KINDS["count"].search(unit) for unit, _ in section[1]):
            section = None  # "tổng đài 1022 nhận bao nhiêu cuộc gọi": a note that counts nothing does not answer
        if section is not None:
            return Decision(True, ANSWER, "guidance_section", "Đoạn văn tìm được khớp câu hỏi là một mục "
                            "hướng dẫn; mỗi mục trả lời một câu hỏi, nên trợ lý trích cả mục đó kèm nguồn.",
                            units=section[1], **{**base, "hits": [section[0]]})
        if u.asks_agency:
            hits = hits + self._agency_sections(hits)
        hits = hits + self._named_sections(u, hits)
        units = select_sentences(u.folded, hits, self.searcher.index.keyword.idf, need_number=u.asks_quantity,
                                 want_phone=u.asks_phone, want_agency=u.asks_agency, marks=written_marks(u.text),
                                 marked_content=marked_content(u.text), figure_kind=u.figure_kind)
        hits, units = self._complete_cut_sentences(hits, units)
        if (units and RE_PHONE_ASKED.search(u.folded) and hits[0].chunk.doc_type not in OFFICE_SOURCES
                and not any(RE_PHONE_NUMBER.search(unit) for unit, _ in units)):
            # "số điện thoại trung tâm phục vụ hành chính công phường X": the plan names the centre, not its number
            return Decision(False, NOT_FOUND, "no_phone", "Câu hỏi cần một số điện thoại, nhưng các đoạn tìm được "
                            "không nêu số nào.", **base)
        if not units:
            rule = "no_figure" if u.asks_quantity else "no_sentence"
            why = ("Câu hỏi cần một con số hoặc ngày tháng, nhưng các đoạn tìm được không nêu."
                   if u.asks_quantity else "Các đoạn tìm được không có câu nào nói đúng điều được hỏi.")
            return Decision(False, NOT_FOUND, rule, why, **base)
        return Decision(True, ANSWER, "coverage", "Đoạn văn tìm được khớp phần chính của câu hỏi; trợ lý trích "
                        "các câu trả lời kèm nguồn.", units=units, **{**base, "hits": hits},
                        figure_asked=u.asks_quantity or bool(RE_BASIS_QUESTION.search(u.folded)))

    def _named_sections(self, u: Understanding, hits: list[Hit]) -> list[Hit]:
        """Sections of the best document whose heading says what is asked in two words ("Tồn tại, hạn chế" for
        "còn những hạn chế gì"): a heading is the document's own summary of its text."""
        if not hits:
            return []
        tokens = normalized_tokens(u.folded)
        context = context_terms(hits[0])
        pairs = {f"{a}_{b}" for a, b in zip(tokens, tokens[1:])
                 if a not in STOPWORDS and b not in STOPWORDS and not {a, b} <= context}
        return self._sections_of_best(hits, lambda section, leaf_pairs: bool(pairs & leaf_pairs))

    @staticmethod
    def _states_fines(found: Retrieved) -> bool:
        """A procedure about fines ("xử lý tiền phạt nộp thừa") or a passage that says "phạt" may answer."""
        names = [m.title for m in (found.procedures or [])[:1]] + [h.chunk.passage for h in found.hits[:1]]
        return any("phạt" in name.lower() for name in names)

    @staticmethod
    def _states_percent(match) -> bool:
        fees = " ".join(f"{c.fee or ''} {c.fee_note or ''}" for c in match.record.channels)
        return bool(FIGURE_KINDS["percent"].search(f"{match.doc.body} {fees}"))

    def _card(self, u: Understanding, hits: list[Hit]) -> list[Hit]:
        """"Ai ký", "số hiệu", "ngày ban hành": the best document's card states them, though its text rarely does.
        Not when the question names another document's number ("Quyết định số 03 ban hành ngày nào")."""
        if not u.asks_document or not hits or hits[0].chunk.doc_id not in self.cards:
            return []
        card = self.searcher.chunks[self.cards[hits[0].chunk.doc_id]]
        return [] if names_other_document(u.text, card.text) else [Hit(card, hits[0].score)]

    def _sections_of_best(self, hits: list[Hit], keep) -> list[Hit]:
        """The best document's sections that `keep(section, heading pairs)` accepts and no hit already quotes, as hits
        ranked last. Guidance and ward profiles answer by whole sections already."""
        if not hits or hits[0].chunk.doc_type in WHOLE_SECTION_TYPES:
            return []
        doc, seen = hits[0].chunk.doc_id, {(h.chunk.doc_id, h.chunk.section) for h in hits}
        return [Hit(self.searcher.chunks[self.sections[(doc, section)][0]], hits[-1].score)
                for section, leaf_pairs in self.doc_sections.get(doc, ())
                if (doc, section) not in seen and keep(section, leaf_pairs)]

    def _complete_cut_sentences(self, hits: list[Hit], units: list[tuple[str, int]]) -> tuple[list[Hit], list]:
        """A sentence the chunker cut at a passage's end ("… hai Trung tâm của hai tỉnh, có") is finished from the
        next passage of the same section; the cited passage becomes the two joined, so every quoted word is in it."""
        hits = list(hits)
        done: list[tuple[str, int]] = []
        for unit, h in units:
            chunk = hits[h].chunk
            ids = self.sections.get((chunk.doc_id, chunk.section)) or []
            order = [self.searcher.chunks[i].id for i in ids]
            tail = chunk.passage.rstrip()
            if (not RE_ENDED.search(unit) and tail.endswith(unit.rstrip()) and chunk.id in order
                    and order.index(chunk.id) + 1 < len(order)):
                following = self.searcher.chunks[ids[order.index(chunk.id) + 1]].passage
                joined = merge_passages([chunk.passage, following])
                rest = joined[len(tail):]
                end = RE_STOP.search(rest)
                if end and end.end() <= MAX_COMPLETION:
                    unit = unit.rstrip() + rest[:end.end()].rstrip()
                    hits[h] = Hit(dataclasses.replace(chunk, passage=joined), hits[h].score, hits[h].keyword_score,
                                  hits[h].dense_score, hits[h].keyword_rank, hits[h].dense_rank)
            done.append((unit, h))
        return hits, done

    def _answering_section(self, u: Understanding, hits: list[Hit]) -> tuple[Hit, list[tuple[str, int]]] | None:
        """The guidance section that answers, whole: the best passage's, or a close one that has what is asked
        (a phone number for "số nào"). Document-card sections ("Thông tin văn bản") never answer this way."""
        if not hits or hits[0].chunk.doc_type not in WHOLE_SECTION_TYPES:
            return None
        close = [h for h in hits if h.chunk.doc_type in WHOLE_SECTION_TYPES and h.chunk.section != CARD_SECTION
                 and h.score >= CLOSE_SECTION * hits[0].score]
        if u.asks_phone:
            close = [h for h in close if RE_PHONE_NUMBER.search(h.chunk.passage)]
        for hit in close[:1]:
            units = self._whole_section(hit)
            if units:
                return hit, units
        return None

    def _whole_section(self, hit: Hit) -> list[tuple[str, int]]:
        """All sentences of the passage's section, in order, when it is short enough to quote whole."""
        ids = self.sections.get((hit.chunk.doc_id, hit.chunk.section)) or []
        text = merge_passages([self.searcher.chunks[i].passage for i in ids]) if ids else hit.chunk.passage
        units = split_units(text)
        return [(unit, 0) for unit in units] if sum(map(len, units)) <= WHOLE_SECTION_CHARS else []

    def _agency_sections(self, hits: list[Hit]) -> list[Hit]:
        """The best document's sections named for an office ("Phòng Văn hóa - Xã hội"): "phòng nào chủ trì …" is
        answered there even when the words that locate the plan outrank them."""
        return self._sections_of_best(hits, lambda section, _: is_agency_section(section))

    def _same_document(self, hits: list[Hit]) -> list[Hit]:
        """One answer, one document (the two guidance notes may combine): quote the best and those close to it."""
        if not hits:
            return hits
        best = hits[0]
        guidance = best.chunk.doc_type == "hướng dẫn"
        return [h for h in hits if h.score >= 0.5 * best.score
                and (h.chunk.doc_id == best.chunk.doc_id or (guidance and h.chunk.doc_type == "hướng dẫn"))]

    def _office_tasks(self, u: Understanding, hits: list[Hit]) -> tuple[Hit, tuple[str, list[str], str]] | None:
        """The section of the office the question names ("Ban xây dựng Đảng xã"), among the best document's office
        sections: its heading must share at least two words with the question beyond the place's name."""
        if not hits or hits[0].chunk.doc_type in WHOLE_SECTION_TYPES:
            return None
        offices = [h for h in hits if h.chunk.doc_id == hits[0].chunk.doc_id and is_agency_section(h.chunk.section)]
        offices += self._agency_sections(hits)
        asked = set(content_tokens(normalized_tokens(u.folded))) - context_terms(hits[0]) - OFFICE_WORDS
        best = None
        for rank, hit in enumerate(offices):
            named = len(asked & set(content_tokens(normalized_tokens(section_leaf(hit.chunk.section)))))
            if named >= 2 and (best is None or named > best[0]):
                best = (named, rank, hit)
        return self._list_section(u, [best[2]]) if best else None

    def _list_section(self, u: Understanding, hits: list[Hit]) -> tuple[Hit, tuple[str, list[str], str]] | None:
        """The section whose list answers "những gì / những hình thức nào", whole.

        Among the best passages' sections, one whose heading names what is asked ("Mục tiêu" for "những mục
        tiêu nào") comes first; otherwise the best passage's section.
        """
        asked = set(content_tokens(normalized_tokens(u.folded)))
        marks = written_marks(u.text)
        candidates = []
        for rank, hit in enumerate(hits[:5]):
            key = (hit.chunk.doc_id, hit.chunk.section)
            ids = self.sections.get(key)
            leaf = section_leaf(hit.chunk.section)
            if not ids or not leaf:
                continue
            text = merge_passages([self.searcher.chunks[i].passage for i in ids])
            intro, items = list_items(text)
            topical = asked - context_terms(hit)  # "phường", the plan's own name: they say which document, not what
            written = written_marks(f"{leaf} {text}")  # "gộp" is not "góp phần"
            shared = {t for t in topical & set(content_tokens(normalized_tokens(f"{leaf} {text}")))
                      if t not in marks or t not in written or marks[t] & written[t]}
            if topical and not shared:
                continue  # a list about something else ("những phường nào" gộp lại vs. a list of offices' tasks)
            if len(items) >= 2:
                named = len(topical & set(content_tokens(normalized_tokens(leaf))))
                candidates.append((-named, rank, hit, (intro, items, text)))
        if not candidates:
            return None
        _, _, hit, section = min(candidates, key=lambda c: (c[0], c[1]))
        return hit, section

    @staticmethod
    def _sentence_names_more(u: Understanding, hits: list[Hit], section) -> bool:
        """"Nguyên tắc '4 tại chỗ' gồm những khâu gì": the centre's list of tasks shares "trung tâm", but a sentence
        names the principle itself. Two words the question says together, which the list never does and one sentence
        of the passages does, mean that sentence, not the list, is about what is asked."""
        hit, (_, _, text) = section
        tokens = normalized_tokens(u.folded)
        context, content = context_terms(hit), set(content_tokens(tokens))
        listed_words = normalized_tokens(f"{section_leaf(hit.chunk.section)} {text}")
        listed = set(zip(listed_words, listed_words[1:]))
        pairs = {(a, b) for a, b in zip(tokens, tokens[1:]) if a in content and b in content
                 and (a, b) not in listed and not {a, b} <= context}
        if not pairs:
            return False
        for other in hits[:5]:
            for unit in split_units(other.chunk.passage):
                unit_words = normalized_tokens(unit)
                if pairs & set(zip(unit_words, unit_words[1:])):
                    return True
        return False

    def _rival_coverage(self, u: Understanding, hits: list[Hit]) -> float:
        """How well passages that could answer instead of a procedure cover the question: national guidance, and
        the documents of a ward or province the question names. A report's table row that names a procedure
        ("Đăng ký khai sinh … 15 10") covers its words but does not say how to do it."""
        rivals = [h for h in hits[:3] if h.chunk.doc_type == "hướng dẫn" or (u.wards and h.chunk.scope == "ward")
                  or (u.cities and h.chunk.scope == "province")]
        return self.coverage(u, rivals)

    def _procedure(self, u: Understanding, found: Retrieved, plan_cov: float) -> Decision | None:
        """A national procedure recognised by name answers ahead of plan and guidance passages.

        "Recognised" means the question names it: most of the question is the procedure's name and most of
        the name is in the question; or the question is nothing but (part of) a long official name; or it
        holds the whole name plus words about the citizen's situation. And guidance must not cover it better.
        """
        matches = found.procedures
        if not matches:
            return None
        best, p = matches[0], self.policy
        named = ((best.name_coverage >= p.procedure_name_coverage and best.coverage >= p.question_share_needed(best.name_coverage))
                 or (best.coverage >= p.procedure_whole_question and best.name_coverage >= p.procedure_whole_question_name)
                 or (best.named_colloquially and best.coverage >= p.procedure_threshold)
                 or (head_said(u.folded, best.title) >= p.procedure_name_head and best.coverage >= p.procedure_threshold))
        # a question that holds a procedure's whole name and asks its fee, papers or time is about that procedure:
        # guidance never states them, however many of the question's words it shares
        whole = best.name_coverage >= p.procedure_whole_name and u.procedure_field is not None
        rival = self._rival_coverage(u, found.hits)
        if not named or (not whole and best.coverage < rival - p.procedure_plan_margin):
            return None
        # the question says only part of the name ("tài khoản định danh" of "Cấp tài khoản định danh điện tử cho cơ
        # quan, tổ chức") and guidance covers it as well: the guidance answers, not a variant nobody described
        if best.name_coverage < p.procedure_partial_name and rival >= max(best.coverage - p.procedure_plan_margin,
                                                                            p.guidance_threshold):
            return None
        if u.wards and plan_cov >= p.found_threshold and found.hits and found.hits[0].chunk.scope != "national":
            return None  # "phường Sơn Trà tập huấn … cho ai": a question naming a ward is about its own documents
        base = dict(coverage=best.coverage, threshold=p.procedure_threshold, procedures=matches,
                    field=u.procedure_field, fields=list(u.procedure_fields), hits=found.hits)
        if u.procedure_fields == ["steps"] and not u.names_steps:
            base.update(field=None, fields=[])  # "thủ tục tạm trú làm thế nào": the card says where, how long, how much
        close = [m for m in matches if best.score - m.score <= p.procedure_choice_margin]
        heads = [head_said(u.folded, m.title) >= p.procedure_name_head for m in close]
        if heads[0] and not any(heads[1:]):
            close = close[:1]  # "chứng thực bản sao từ bản chính …": the question says this name's head, no other's
        if len(close) > 1 and getattr(matches, "ambiguous", False):
            if u.procedure_field is None and self._rival_coverage(u, found.hits) >= best.coverage - p.procedure_plan_margin:
                return None  # no field asked and a guidance note covers it as well: answer it, don't ask which procedure
            return Decision(True, CHOICE, "procedure_choice", f"Có {len(close)} thủ tục khớp gần như nhau; trợ lý "
                            "hỏi lại người dân muốn hỏi thủ tục nào thay vì đoán.", **{**base, "procedures": close})
        what = f"phần “{FIELD_NAMES.get(base['field'], base['field'])}”" if base["field"] else "thông tin chính"
        papers = [p.name for p in best.record.papers]
        deadline = deadline_sentence(u.text, best.title, best.doc.body, papers) if u.asks_deadline else None
        if deadline:  # the citizen's own deadline, not the office's processing time
            base["fields"] = [f for f in base["fields"] if f != "time"]
            base["field"] = base["fields"][0] if base["fields"] else None
            base["units"] = [(deadline, 0)]
            return Decision(True, PROCEDURE, "procedure_deadline", f"Nhận ra thủ tục “{best.title}”; câu hỏi hỏi hạn "
                            "chót người dân phải làm, nên trợ lý trích câu trong hồ sơ thủ tục nói thời hạn đó.", **base)
        detail = detail_sentence(u.text, u.folded, best.title, best.doc.body,
                                 self.searcher.index.keyword.idf, u.asks_quantity,
                                 [p.name for p in best.record.papers])
        if not detail and u.figure_kind == "percent" and not self._states_percent(best):
            # "lệ phí trước bạ là mấy phần trăm giá xe": the record's fee is a sum, the rate asked is nowhere in it
            return Decision(False, NO_FIGURE, "procedure_figure_missing", f"Nhận ra thủ tục “{best.title}”, nhưng "
                            "câu hỏi cần một tỷ lệ phần trăm mà hồ sơ thủ tục không nêu; trợ lý nói rõ và chỉ nơi hỏi.",
                            **{**base, "procedures": [best]})
        if not detail and u.asks_quantity and not u.procedure_fields:
            # "thành lập công ty TNHH cần vốn tối thiểu bao nhiêu": the record is found, the figure is not in it
            return Decision(False, NO_FIGURE, "procedure_figure_missing", f"Nhận ra thủ tục “{best.title}”, nhưng "
                            "câu hỏi cần một con số mà hồ sơ thủ tục không nêu; trợ lý nói rõ và chỉ nơi hỏi.",
                            **{**base, "procedures": [best]})
        if not detail and u.procedure_field == "who":
            detail = who_sentence(best.title, best.doc.body, papers, u.folded)
        if detail:
            what += " và câu trong hồ sơ thủ tục nói đúng điều được hỏi thêm"
            base["units"] = [(detail, 0)]
        return Decision(True, PROCEDURE, "procedure_match", f"Nhận ra thủ tục “{best.title}” từ tên gọi trong câu "
                        f"hỏi; trợ lý trả lời {what} từ hồ sơ thủ tục trên Cổng Dịch vụ công quốc gia.", **base)


FIELD_NAMES = {"fee": "lệ phí", "time": "thời hạn", "papers": "giấy tờ", "where": "nơi làm", "steps": "các bước",
               "conditions": "điều kiện", "online": "nộp trực tuyến", "who": "người được làm", "result": "kết quả"}
