"""One conversation layer for every channel: a message in, replies with actions out.

Channels (Telegram, Zalo Bot, Zalo OA, Messenger, the terminal) only turn their updates into `Incoming` and
draw the `Reply` list: actions as buttons, quick replies or numbered text, bold spans where they can. Here
live the flood limit, commands and button payloads (one parser, `bot.payloads`), answering off the event
loop, redacted logging, the chat's memory (store-backed), follow-ups and choices, sources, votes, care
(emergencies, a person, rude words), phone-sized bodies and message splitting. Every text is in `bot.replies`.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol

from bot import replies
from bot.care import fold, load_care
from bot.channels import channel as channel_info
from bot.flood import BUSY, DEFAULT_FLOOD_LIMIT, AssistantBusy, ChatLocks, FloodGuard
from bot.followup import Resolved, follow_up_fields, resolve, ward_of, ward_statement, with_fields
from bot.memory import ChatMemory, Memory
from bot.payloads import payload_of
from bot.redact import redact
from bot.render import bold_spans, fit, format_sources, split_message
from bot.store import Store, StoreWriteFailed
from bot.types import Answer
from bot.wards import WardProfiles, channel_ward

MAX_BODY = 700  # characters of an answer before its sources: one phone screen
MISSES = ("not_found", "no_procedure", "sanction")  # decision routes that count towards offering a person
# A message that asks something is answered, even right after a 👎 (then it is no remark on the answer).
_QUESTION = re.compile(r" (bao nhieu|gi|the nao|nhu the nao|o dau|khong|sao|nao|may|lam sao|co phai|can|thu tuc) ")


class AnswersQuestions(Protocol):
    def answer(self, question: str) -> Answer: ...


@dataclass
class Action:
    label: str
    payload: str  # what comes back when it is chosen: "v:12:1", "src:Ab3…", "pick:1.010028", "person"


@dataclass
class Reply:
    text: str
    actions: list[Action] = field(default_factory=list)
    bold: list[tuple[int, int]] = field(default_factory=list)  # spans of `text` to show in bold
    kind: str = "text"  # answer | not_found | choice | sources | vote | emergency | handoff | ward | command | …
    toast: bool = False  # a short acknowledgement: a channel with pop-ups may show it as one instead of a message


@dataclass
class Incoming:
    text: str = ""
    payload: str = ""  # a button or quick reply chosen
    kind: str = "text"  # text | button | other (image, sticker, voice: nothing to read)
    care_sent: bool = False  # the emergency numbers already went out (see `handle(early=…)`)

    @classmethod
    def button(cls, payload: str) -> "Incoming":
        return cls(payload=payload, kind="button")

    @classmethod
    def other(cls) -> "Incoming":
        return cls(kind="other")

    @classmethod
    def vote(cls, question_id: int, vote: int) -> "Incoming":
        """👍 (+1) or 👎 (-1) on a logged answer, from a channel's own reaction feature."""
        return cls.button(f"v:{question_id}:{1 if vote > 0 else -1}")

    @classmethod
    def command(cls, name: str, argument: str = "") -> "Incoming":
        """/start, /help, /hotline, /phuong <tên>, /nguon — the same parser as typed commands."""
        return cls(f"/{name} {argument}".strip())


class Conversation:
    """The dialogue of one channel. `handle` is for event loops, `handle_sync` for a terminal or a thread."""

    def __init__(self, assistant: AnswersQuestions, store: Store, channel: str, *, executor: Executor | None = None,
                 flood_limit: str | None = DEFAULT_FLOOD_LIMIT, wards_dir: Path | None = None,
                 max_body: int = MAX_BODY) -> None:
        self.assistant = assistant
        self.store = store
        self.channel = channel
        self.info = channel_info(channel)
        self.log = logging.getLogger(self.info.logger)
        self.memory = Memory(store, channel)
        self.flood = FloodGuard(flood_limit) if flood_limit else None
        self.locks = ChatLocks()
        self.care = load_care()
        settings = getattr(assistant, "settings", None)
        knowledge = getattr(settings, "knowledge_dir", None)
        self.wards = WardProfiles(wards_dir or (Path(knowledge) / "wards" if knowledge else None))
        self.fixed_ward = channel_ward(settings, channel)  # a ward's own bot: its ward when a chat names none
        self.max_body = max_body
        self._executor = executor

    # -- entry points -----------------------------------------------------------------------------
    async def handle(self, chat_id: str | int, incoming: Incoming, user_id: str | int | None = None,
                     early: Callable[[list[Reply]], Awaitable[Any]] | None = None) -> list[Reply]:
        """The replies to one message, in order. One message per chat at a time; the work runs in a thread.

        With `early`, emergency numbers are handed to it at once, before the answer waits for its turn (the
        answer queue can be a minute long); the returned replies then hold the rest."""
        user_hash = self.store.hash_user(self.channel, user_id if user_id is not None else chat_id)
        if self.flood and not self.flood.allow(user_hash):
            self.log.info("%s: flood from user %s, message dropped", self.info.label, user_hash[:8])
            numbers = self.care.emergency_numbers(incoming.text) if incoming.kind == "text" else []
            if numbers:  # someone in danger typing fast still gets the numbers
                return self._finish([self._emergency(numbers)])
            return [Reply(replies.FLOOD, kind="flood")] if self.flood.should_warn(user_hash) else []
        if early is not None and incoming.kind == "text" and not incoming.payload:
            numbers = self.care.emergency_numbers(incoming.text)
            if numbers:
                await early(self._finish([self._emergency(numbers)]))
                incoming = Incoming(incoming.text, kind="text", care_sent=True)
        async with self.locks.hold(str(chat_id)):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self.handle_sync, chat_id, incoming, user_hash)

    async def on_text(self, chat_id: str | int, user_id: str | int, text: str) -> list[str]:
        """The texts to send back for one text message (channels without buttons, scripts)."""
        return [r.text for r in await self.handle(chat_id, Incoming(text), user_id)]

    def handle_sync(self, chat_id: str | int, incoming: Incoming, user_hash: str | None = None) -> list[Reply]:
        user_hash = user_hash or self.store.hash_user(self.channel, chat_id)
        chat_hash = self.store.hash_user(self.channel, f"chat:{chat_id}")
        memory = self.memory.load(chat_hash)
        try:
            out = self._turn(memory, incoming, user_hash)
        except AssistantBusy:
            self.log.warning("%s: assistant busy, message of user %s not answered", self.info.label, user_hash[:8])
            out = [Reply(BUSY, kind="busy")]
        except Exception:
            self.log.exception("%s: error while answering %r", self.info.label, redact(incoming.text)[:200])
            out = [Reply(replies.UNAVAILABLE, kind="error")]
        self.memory.save(chat_hash, memory)
        return self._finish(out)

    # -- one turn ---------------------------------------------------------------------------------
    def _turn(self, memory: ChatMemory, incoming: Incoming, user_hash: str) -> list[Reply]:
        if incoming.kind == "other":
            return [Reply(replies.NO_TEXT, kind="no_text")]
        payload = incoming.payload or payload_of(incoming.text, memory)
        if payload:
            return self._on_payload(payload, memory, user_hash)
        text = incoming.text.strip()
        note_for, memory.note_for = memory.note_for, 0
        numbers = self.care.emergency_numbers(text)
        first = [self._emergency(numbers)] if numbers and not incoming.care_sent else []
        if self.care.wants_person(text):
            memory.add_turn("dân", text)
            return first + self._handoff(memory, user_hash, "người dân muốn gặp cán bộ")
        ward = ward_statement(text)
        if ward:
            memory.ward = ward = self.wards.official(ward)
            return first + [Reply(replies.WARD_SAVED.format(ward=ward), kind="ward")]
        asks = "?" in text or _QUESTION.search(" " + " ".join(re.findall(r"\w+", fold(text))) + " ")
        if note_for and not numbers and not asks and not follow_up_fields(text):
            self.store.add_feedback_note(note_for, user_hash, text)  # the answer to "what was wrong?"
            return [Reply(replies.NOTE_THANKS, kind="note")]
        if self.care.is_rude(text):
            text = self.care.without_rude(text)
            if len(text.split()) < 3:
                return first + [Reply(replies.RUDE, kind="rude")]
        if not numbers:
            return self._answer(text, memory, user_hash, resolve(text, memory))
        misses = memory.misses
        try:  # the numbers must reach the citizen even when the answer cannot be computed
            out = self._answer(text, memory, user_hash, resolve(text, memory))
        except Exception:  # noqa: BLE001 - busy or broken: logged, the emergency reply still goes out
            self.log.exception("%s: answer after an emergency reply failed", self.info.label)
            out = []
        memory.misses = misses  # after an emergency, "not found" is noise, not a miss
        return first + [r for r in out if r.kind not in ("not_found", "handoff")]

    def _on_payload(self, payload: str, memory: ChatMemory, user_hash: str) -> list[Reply]:
        kind, _, arg = payload.partition(":")
        if kind == "cmd":
            text = {"start": replies.START, "help": replies.HELP, "hotline": replies.HOTLINE}.get(arg, replies.HELP)
            return [Reply(text, kind="command")]
        if kind == "ward":
            ward = ward_of(arg) or (ward_of(f"phường {arg}") if arg.strip() else None)
            if not ward:
                return [Reply(replies.WARD_ASK, kind="ward")]
            memory.ward = ward = self.wards.official(ward)
            return [Reply(replies.WARD_SAVED.format(ward=ward), kind="ward")]
        if kind == "src":
            return self._sources(arg or memory.citations_key, explicit=bool(arg))
        if kind in ("up", "down"):
            return self._vote(memory, memory.question_id if memory.actions or memory.question_id else None,
                              1 if kind == "up" else -1, user_hash)
        if kind == "v":
            qid, _, vote = arg.partition(":")
            try:
                return self._vote(memory, int(qid), int(vote), user_hash)
            except ValueError:
                self.log.warning("%s: malformed vote payload %r", self.info.label, payload[:40])
                return []
        if kind == "pick":
            option = next((o for o in memory.options if o.get("code") == arg), None)
            if option is None:
                return [Reply(replies.CHOICE_GONE, kind="choice_gone")]
            question = with_fields(option["title"], memory.fields)
            memory.procedure_code, memory.procedure_title = option.get("code"), option["title"]
            memory.add_turn("dân", option["title"])
            return self._answer(option["title"], memory, user_hash, Resolved(question, "pick"))
        if kind == "person":
            return self._handoff(memory, user_hash, "người dân bấm “gặp cán bộ”")
        self.log.warning("%s: unknown payload %r", self.info.label, payload[:40])
        return []

    # -- answers ----------------------------------------------------------------------------------
    def _ask(self, question: str, procedure: str | None = None, ward: str | None = None) -> Answer:
        # procedure: a picked option or a follow-up about the remembered procedure: answer that very record;
        # ward: the chat's ward, preferred (its documents, then its province's, then national ones)
        if procedure or ward:
            try:
                return self.assistant.answer(question, **({"procedure": procedure} if procedure else {"ward": ward}))
            except TypeError:  # an assistant without the keyword (test doubles)
                pass
        return self.assistant.answer(f"{question} ở {ward}" if ward and not procedure else question)

    def _answer(self, text: str, memory: ChatMemory, user_hash: str, resolved: Resolved) -> list[Reply]:
        started = time.perf_counter()
        question = resolved.question
        answer = self._ask(question, memory.procedure_code if resolved.via in ("pick", "field") else None)
        route = getattr(answer.decision, "route", "")
        ward_note, ward = "", memory.ward or self.fixed_ward
        if (ward and resolved.via != "ward" and not ward_of(question) and answer.kind in ("answer", "not_found")
                and route not in ("procedure", "choice")):
            local = self._ask(question, ward=ward)  # the citizen's ward first, when it has an answer
            if local.found:
                answer, question = local, f"{question} ở {ward}"
                ward_note = replies.WARD_USED.format(ward=ward) if memory.ward else ""
        elif not ward and answer.kind in ("answer", "not_found") and not ward_of(question) and asks_office(question):
            ward_note = replies.WARD_ASK_OFFICE  # hours and addresses differ by ward: ask which one, once it matters
        body, _ = fit(answer.body or answer.text, self.max_body - (len(ward_note) + 1 if ward_note else 0))
        if ward_note:
            body = f"{body}\n{ward_note}"
        reply_ms = (time.perf_counter() - started) * 1000
        qid, key = self._log(user_hash, question, body, answer, reply_ms)
        self.log.info("%s: user %s question %d kind=%s found=%s via=%s %.0f ms", self.info.label, user_hash[:8], qid,
                      answer.kind, answer.found, resolved.via or "-", reply_ms)
        if resolved.via != "pick":
            memory.add_turn("dân", text)
        memory.add_turn("trợ lý", body)
        self._remember(memory, answer, question, qid, key)
        if answer.kind not in ("answer", "not_found", "choice"):  # greetings, refusals: no buttons
            return [Reply(body, kind=answer.kind)]
        out = [self._answer_reply(body, answer, memory, qid, key)]
        if getattr(answer.decision, "route", None) in MISSES:  # the core's honest "not found", not "be more precise"
            memory.misses += 1
            if memory.misses >= 2:
                memory.misses = 0
                handoff = self._handoff(memory, user_hash, "hai câu liền không tìm thấy câu trả lời")
                handoff[0].text = f"{replies.HANDOFF_AFTER_MISSES} {handoff[0].text}"
                out += handoff
        else:
            memory.misses = 0
        return out

    def _log(self, user_hash: str, question: str, body: str, answer: Answer, reply_ms: float) -> tuple[int, str | None]:
        try:  # a log line that cannot be written (disk full) must not cost the citizen the reply
            qid = self.store.log_question(self.channel, user_hash, question, body, answer.found, answer.citations,
                                          round(reply_ms, 1), kind=answer.kind)
            key = self.store.save_citations(answer.citations, qid) if answer.citations else None
        except Exception:  # noqa: BLE001 - logged; the answer still goes out
            self.log.exception("%s: question of user %s not logged", self.info.label, user_hash[:8])
            qid, key = 0, None
        return qid, key

    def _remember(self, memory: ChatMemory, answer: Answer, question: str, qid: int, key: str | None) -> None:
        decision = answer.decision
        route = getattr(decision, "route", "")
        memory.question, memory.question_id, memory.citations_key = question, qid, key
        memory.options = [dict(code=str(o.get("code")), title=str(o.get("title"))) for o in answer.options
                          if o.get("code") and o.get("title")]
        if route == "procedure" and getattr(decision, "procedures", None):
            best = decision.procedures[0]
            memory.procedure_code = str(getattr(best, "code", "") or "") or None
            memory.procedure_title = str(getattr(best, "title", "") or "") or None
            memory.fields = list(getattr(decision, "fields", []) or [])
        elif route == "choice":  # which procedure is meant is open until the citizen picks one
            memory.procedure_code = memory.procedure_title = None
            memory.fields = list(getattr(decision, "fields", []) or [])
        elif answer.found and answer.citations:
            memory.procedure_code = memory.procedure_title = None
            memory.document_id, memory.document_title = answer.citations[0].doc_id, answer.citations[0].title

    def _answer_reply(self, body: str, answer: Answer, memory: ChatMemory, qid: int, key: str | None) -> Reply:
        if memory.options:
            actions = [Action(o["title"], f"pick:{o['code']}") for o in memory.options]
            menu = replies.CHOICE_HINT
        else:
            # "1" 👍, "2" 👎, "3" sources: fixed numbers, also when the question could not be logged (qid 0:
            # the vote is then answered "not saved"; no vote buttons are drawn).
            actions = [Action(replies.BUTTON_UP, f"v:{qid}:1"), Action(replies.BUTTON_DOWN, f"v:{qid}:-1")]
            if key:
                actions.append(Action(replies.BUTTON_SOURCES, f"src:{key}"))
            menu = ""
            if memory.first_reply_today():
                menu = replies.FOOTER if key else replies.FOOTER_NOT_FOUND
        memory.actions = [a.payload for a in actions]
        if not qid:
            actions = [a for a in actions if not a.payload.startswith("v:")]
        if menu and not self.info.buttons:
            body = f"{body}\n\n{menu}"
        return Reply(body, actions, kind=answer.kind if not memory.options else "choice")

    # -- sources, votes, care ---------------------------------------------------------------------
    def _sources(self, key: str | None, explicit: bool) -> list[Reply]:
        citations = self.store.get_citations(key) if key else None
        if not citations:
            return [Reply(replies.SOURCES_GONE if explicit else replies.NO_SOURCES, kind="sources", toast=explicit)]
        return [Reply(format_sources(citations), kind="sources")]

    def _vote(self, memory: ChatMemory, qid: int | None, vote: int, user_hash: str) -> list[Reply]:
        if qid is None:
            return [Reply(replies.NO_VOTE_TARGET, kind="vote")]
        if not qid:  # the question itself could not be logged (disk full)
            return [Reply(replies.VOTE_NOT_SAVED, kind="vote", toast=True)]
        try:
            self.store.record_vote(qid, self.channel, user_hash, vote)
        except StoreWriteFailed:
            return [Reply(replies.VOTE_NOT_SAVED, kind="vote", toast=True)]
        except (LookupError, ValueError) as exc:  # a forged or stale button
            self.log.warning("%s: vote not stored for question %s: %r", self.info.label, qid, exc)
            return []
        self.log.info("%s: user %s voted %+d on question %d", self.info.label, user_hash[:8], vote, qid)
        if vote > 0:
            return [Reply(replies.THANKS_UP, kind="vote", toast=True)]
        memory.note_for = qid
        return [Reply(replies.THANKS_DOWN, [Action(replies.BUTTON_PERSON, "person")], kind="vote_down")]

    def _emergency(self, numbers: list[str]) -> Reply:
        lines = [replies.EMERGENCY[n] for n in dict.fromkeys(numbers)]
        return Reply("\n".join([*lines, replies.EMERGENCY_TAIL]), kind="emergency")

    def _handoff(self, memory: ChatMemory, user_hash: str, reason: str) -> list[Reply]:
        profile = self.wards.get(memory.ward or self.fixed_ward)
        if profile:
            text = replies.HANDOFF_WARD.format(centre=profile.centre_name, phone=profile.shown(profile.phone),
                                               address=f", {profile.address}" if profile.address else "",
                                               hours=f", giờ làm việc {profile.hours}" if profile.hours else "")
        else:
            text = replies.HANDOFF_GENERAL
        try:
            self.store.enqueue_handoff(self.channel, user_hash, reason, memory.ward or self.fixed_ward, memory.turns)
        except Exception:  # noqa: BLE001 - the citizen still gets the numbers
            self.log.exception("%s: hand-off of user %s not queued", self.info.label, user_hash[:8])
        self.log.info("%s: user %s handed off to an officer (%s)", self.info.label, user_hash[:8], reason)
        return [Reply(text, kind="handoff")]

    # -- delivery ---------------------------------------------------------------------------------
    def _finish(self, out: list[Reply]) -> list[Reply]:
        """Split each reply at the channel's limit (actions on its last part) and mark the bold spans."""
        parts: list[Reply] = []
        for reply in out:
            pieces = split_message(reply.text, self.info.max_chars, self.info.length) or []
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1
                parts.append(Reply(piece, reply.actions if last else [], bold_spans(piece), reply.kind,
                                   reply.toast and len(pieces) == 1))
        return parts


def asks_office(question: str) -> bool:
    """Office hours, premises, who holds a post: what differs from ward to ward (the lexicon's office cues)."""
    from bot.understand import LEXICON, folded_words, has_cue

    return has_cue(" ".join(folded_words(question)), LEXICON.strict_cues.get("office", []))


def reply_texts(out: list[Any]) -> list[str]:
    """The texts of a reply list (tests, scripts)."""
    return [r.text for r in out]
