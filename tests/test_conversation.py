"""The conversation layer with the real assistant over a small real index (procedure records, two ward plans):
follow-ups, choices, ward memory that survives a restart, sources, votes, care, phone-sized replies."""
from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from bot import replies
from bot.conversation import Conversation, Incoming, Reply
from bot.store_sqlite import SqliteStore
from bot.types import Answer
from conversation_kit import OTHER_WARD, SCRIPT, assert_script_replies, body_length, knowledge_dir, \
    procedure_assistant


@pytest.fixture(scope="module")
def assistant():
    return procedure_assistant()


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "store.sqlite")
    yield s
    s.close()


def talk(conv: Conversation, chat: str, *messages: str) -> list[list[Reply]]:
    out = []
    for m in messages:
        out.append(conv.handle_sync(chat, Incoming(m)))
    return out


def texts(replies_: list[Reply]) -> list[str]:
    return [r.text for r in replies_]


def test_scripted_conversation_as_plain_text(assistant, store):
    conv = Conversation(assistant, store, "terminal", flood_limit=None)
    turns = []
    for message, kind in SCRIPT:
        text = {"pick": "2", "vote": "1"}.get(kind, message)
        turns.append(texts(conv.handle_sync("script", Incoming(text))))
    assert_script_replies(turns)


def test_fee_follow_up_answers_the_fee_of_the_procedure_asked_before(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    first, fee, time_, other = talk(conv, "c1", "đăng ký tạm trú cần giấy tờ gì", "còn lệ phí thì sao?",
                                    "thế mất bao lâu", "lệ phí đăng ký thường trú bao nhiêu")
    assert first[0].text.startswith("Giấy tờ cần nộp để đăng ký tạm trú")
    assert fee[0].text.startswith("Lệ phí đăng ký tạm trú: 10.000 đồng")
    assert time_[0].text.startswith("Thời hạn giải quyết đăng ký tạm trú")
    assert other[0].text.startswith("Lệ phí đăng ký thường trú: 20.000 đồng")  # a new procedure named: no rewrite


def test_another_procedure_with_the_same_question(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    _, other, papers = talk(conv, "c1b", "lệ phí đăng ký tạm trú bao nhiêu", "còn thường trú thì sao?", "thế giấy tờ?")
    assert other[0].text.startswith("Lệ phí đăng ký thường trú: 20.000 đồng")
    assert papers[0].text.startswith("Giấy tờ cần nộp để đăng ký thường trú")


def test_follow_up_without_a_procedure_is_not_guessed(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    [reply] = talk(conv, "c-none", "còn lệ phí thì sao?")
    assert "10.000" not in reply[0].text and "20.000" not in reply[0].text


def test_choice_numbers_and_ordinals_pick_an_option_with_the_field_asked(assistant, store):
    conv = Conversation(assistant, store, "telegram", flood_limit=None)
    [choice] = talk(conv, "c2", "xóa đăng ký lệ phí bao nhiêu")[0:1]
    assert choice[0].kind == "choice" and [a.payload for a in choice[0].actions] == ["pick:1.010028", "pick:1.003197"]
    assert replies.CHOICE_HINT not in choice[0].text  # Telegram draws buttons instead
    [picked] = talk(conv, "c2", "cái thứ nhất")
    assert picked[0].text.startswith("Lệ phí xóa đăng ký tạm trú")  # the field asked before the choice
    again = conv.handle_sync("c3", Incoming("xóa đăng ký"))
    button = conv.handle_sync("c3", Incoming.button(again[0].actions[1].payload))
    assert button[0].text.startswith("Xóa đăng ký thường trú (mã 1.003197)")
    stale = conv.handle_sync("c4", Incoming.button("pick:1.003197"))  # a button from a forgotten choice
    assert texts(stale) == [replies.CHOICE_GONE]


def test_memory_survives_a_restart_and_expires_after_a_quiet_hour(assistant, tmp_path):
    path = tmp_path / "store.sqlite"
    first = SqliteStore(path)
    talk(Conversation(assistant, first, "zalo_oa", flood_limit=None), "chat-5591", "lệ phí đăng ký tạm trú bao nhiêu")
    first.close()
    second = SqliteStore(path)  # a new process: nothing in memory but the database
    [papers] = talk(Conversation(assistant, second, "zalo_oa", flood_limit=None), "chat-5591", "thế giấy tờ?")
    assert papers[0].text.startswith("Giấy tờ cần nộp để đăng ký tạm trú")
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert "chat-5591" not in dump  # the chat id is kept only as a salted hash
    with sqlite3.connect(path) as db:
        db.execute("UPDATE chat_memory SET updated_at = ?", (time.time() - 3700,))
    [later] = talk(Conversation(assistant, second, "zalo_oa", flood_limit=None), "chat-5591", "còn lệ phí thì sao?")
    assert "10.000 đồng" not in later[0].text
    second.close()


def test_ward_said_once_is_preferred_and_a_ward_follow_up_repeats_the_question(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    question = "mục tiêu tỷ lệ hồ sơ giải quyết đúng hạn năm 2026 là bao nhiêu"
    saved, answer, other = talk(conv, "c6", f"mình ở phường {OTHER_WARD}", question, "ở phường Tân An thì sao?")
    assert texts(saved) == [replies.WARD_SAVED.format(ward=f"phường {OTHER_WARD}")]
    assert "95%" in answer[0].text and replies.WARD_USED.format(ward=f"phường {OTHER_WARD}") in answer[0].text
    assert "98%" in other[0].text
    switched, again = talk(conv, "c6", "/phuong Tân An", question)
    assert "phường Tân An" in switched[0].text and "98%" in again[0].text
    commune, ask = talk(conv, "c6", "/xa Hòa Bắc", "/phuong")
    assert texts(commune) == [replies.WARD_SAVED.format(ward="xã Hòa Bắc")] and texts(ask) == [replies.WARD_ASK]


def test_emergency_numbers_come_first_before_anything_else(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    [out] = talk(conv, "c7", "bố tôi bị tai nạn giao thông, đăng ký khai tử cần giấy tờ gì")
    assert out[0].kind == "emergency" and "115" in out[0].text
    assert len(out) == 2 and "khai tử" in out[1].text  # the question is still answered, after
    [fire] = talk(conv, "c7", "cháy nhà rồi")
    assert [r.kind for r in fire] == ["emergency"] and "114" in fire[0].text
    [plain] = talk(conv, "c7", "thẩm duyệt phòng cháy chữa cháy ở đâu")
    assert all(r.kind != "emergency" for r in plain)


def test_asking_for_a_person_gives_the_ward_centre_and_queues_the_redacted_conversation(assistant, store):
    conv = Conversation(assistant, store, "messenger", flood_limit=None)
    talk(conv, "c8", "/phuong Tân An", "tôi là Lan, số 0912 345 678, hỏi lệ phí đăng ký tạm trú")
    [handoff] = talk(conv, "c8", "cho tôi nói chuyện với người thật")
    assert "0292 3000 111" in handoff[0].text and "7h00–17h00" in handoff[0].text
    [queued] = store.list_handoffs()
    assert queued["channel"] == "messenger" and queued["ward"] == "phường Tân An"
    said = " ".join(t["text"] for t in queued["transcript"])
    assert "[SĐT]" in said and "0912" not in said and "lệ phí đăng ký tạm trú" in said
    assert store.mark_handoff_done(queued["id"]) and store.list_handoffs() == []  # an officer took it up
    assert [h["id"] for h in store.list_handoffs(done=True)] == [queued["id"]]


def test_two_not_founds_in_a_row_offer_a_person(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    first, second = talk(conv, "c9", "giá vé máy bay đi Paris bao nhiêu", "thời tiết ngày mai thế nào")
    assert [r.kind for r in first] == ["not_found"]
    assert [r.kind for r in second] == ["not_found", "handoff"] and "1022" in second[1].text
    assert len(store.list_handoffs()) == 1


def test_rude_input_gets_a_calm_reply_that_never_echoes_it(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    [calm] = talk(conv, "c10", "bot ngu vãi đm")
    assert texts(calm) == [replies.RUDE] and "ngu" not in calm[0].text
    [answered] = talk(conv, "c10", "đm lệ phí đăng ký tạm trú bao nhiêu")
    assert "10.000 đồng" in answered[0].text and "đm" not in answered[0].text


def test_votes_thank_or_ask_what_was_wrong_and_are_stored(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    talk(conv, "c11", "lệ phí đăng ký tạm trú bao nhiêu")
    [up] = talk(conv, "c11", "1")
    assert texts(up) == [replies.THANKS_UP]
    [down] = talk(conv, "c11", "👎")
    assert down[0].text == replies.THANKS_DOWN and "1022" in down[0].text
    assert [a.payload for a in down[0].actions] == ["person"]
    [note] = talk(conv, "c11", "sai rồi, tôi gọi 0912 345 678 thì họ nói 15.000 đồng")  # what was wrong
    assert texts(note) == [replies.NOTE_THANKS]
    [fb] = store.list_feedback(vote=-1)
    assert fb.channel == "zalo_bot" and fb.question == "lệ phí đăng ký tạm trú bao nhiêu"
    assert fb.note.startswith("sai rồi") and "15.000 đồng" in fb.note and "0912" not in fb.note
    [again] = talk(conv, "c11", "lệ phí đăng ký thường trú bao nhiêu")  # a question after that is answered
    assert "20.000 đồng" in again[0].text
    assert texts(talk(Conversation(assistant, store, "zalo_bot", flood_limit=None), "c12", "2")[0]) == \
        [replies.NO_VOTE_TARGET]


def test_zalo_help_footer_only_on_the_first_reply_of_the_day(assistant, store):
    zalo = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    first, second = talk(zalo, "c13", "lệ phí đăng ký tạm trú bao nhiêu", "lệ phí đăng ký thường trú bao nhiêu")
    assert first[0].text.endswith(replies.FOOTER) and replies.FOOTER not in second[0].text
    tg = Conversation(assistant, store, "telegram", flood_limit=None)
    [buttons] = talk(tg, "c13", "lệ phí đăng ký tạm trú bao nhiêu")
    assert replies.FOOTER not in buttons[0].text
    assert [a.label for a in buttons[0].actions] == [replies.BUTTON_UP, replies.BUTTON_DOWN, replies.BUTTON_SOURCES]


def test_sources_show_each_document_once_with_its_passages(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    talk(conv, "c14", "xóa đăng ký")
    [sources] = talk(conv, "c14", "nguồn")
    text = sources[0].text
    assert text.startswith(replies.SOURCES_HEAD)
    assert text.count("Xóa đăng ký tạm trú (mã 1.010028)") == 1 and text.count("https://dichvucong.gov.vn") == 2
    assert (sources[0].bold and text[sources[0].bold[0][0]:sources[0].bold[0][1]] == replies.SOURCES_HEAD)


class Long:
    """Stub: a 3,000-character answer (the real core keeps bodies short; the cut is what is under test)."""

    def answer(self, question: str) -> Answer:
        text = " ".join(f"Câu số {i} nói về hồ sơ trực tuyến trên Cổng Dịch vụ công quốc gia." for i in range(60))
        return Answer(question, text, True, kind="answer", body=text)


def test_long_bodies_are_cut_to_a_phone_screen_at_a_sentence(store):
    conv = Conversation(Long(), store, "telegram", flood_limit=None)
    [out] = talk(conv, "c15", "câu hỏi dài")
    assert len(out) == 1 and body_length(out[0].text) <= 700
    assert out[0].text.endswith(replies.MORE_IN_SOURCES) and "quốc gia.\n" in out[0].text


def test_flood_limit_and_non_text_messages(assistant, store):
    conv = Conversation(assistant, store, "zalo_bot", flood_limit="2/minute")

    async def scenario():
        out = [await conv.handle("c16", Incoming("lệ phí đăng ký tạm trú bao nhiêu")) for _ in range(4)]
        return out, await Conversation(assistant, store, "zalo_bot").handle("c17", Incoming.other())

    async def danger():
        return await conv.handle("c16", Incoming("cứu với, nhà đang cháy"))

    flooded, other = asyncio.run(scenario())
    assert [len(r) for r in flooded] == [1, 1, 1, 0] and flooded[2][0].text == replies.FLOOD
    assert texts(other) == [replies.NO_TEXT]
    [fire] = asyncio.run(danger())  # over the limit, but an emergency still gets its numbers
    assert fire.kind == "emergency" and "114" in fire.text


def test_the_ward_folder_has_an_example_profile():
    from bot.wards import PROJECT_WARDS, WardProfiles

    profile = WardProfiles(PROJECT_WARDS).get("phường An Hải")
    assert profile is not None and profile.example and profile.phone
    assert WardProfiles(knowledge_dir() / "wards").get("phường Tân An").phone == "0292 3000 111"


class Slow:
    """Stub: an answer that takes 3 s (a long answer queue); the emergency reply must not wait for it."""

    def answer(self, question: str) -> Answer:
        time.sleep(3)
        return Answer(question, "Trả lời chậm.", False, kind="not_found")


def test_emergency_numbers_go_out_before_a_slow_answer(store):
    conv = Conversation(Slow(), store, "telegram", flood_limit=None)
    sent: list[tuple[float, str]] = []

    async def early(first):
        sent.extend((time.monotonic(), r.text) for r in first)

    async def scenario():
        started = time.monotonic()
        out = await conv.handle("c18", Incoming("có người bị tai nạn, cần cấp cứu"), early=early)
        return started, out

    started, out = asyncio.run(scenario())
    assert sent and "115" in sent[0][1] and sent[0][0] - started < 1.0  # at once, not after the 3 s answer
    assert all("115" not in r.text for r in out)  # not sent twice


def test_the_care_lexicon_must_catch_its_own_examples(tmp_path):
    from bot.care import CARE_FILE, load_care

    broken = CARE_FILE.read_text(encoding="utf-8").replace('"cần cấp cứu gấp"', '"gọi giúp tôi với"')
    (tmp_path / "care.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(ValueError, match="115 does not catch its example"):
        load_care(tmp_path / "care.yaml")


def test_key_facts_are_bold_and_sources_name_each_document_once():
    from bot.render import bold_spans, format_sources

    text = "Lệ phí: 10.000 đồng nộp trực tiếp. Thời hạn: 3 ngày làm việc. Gọi 1800.1096 hoặc 114. Năm 2026."
    assert [text[a:b] for a, b in bold_spans(text)] == ["10.000 đồng", "3 ngày làm việc", "1800.1096", "114"]
    label = "[{n}] Kế hoạch CCHC phường Tân An, mục {s}, ngày 03/02/2026"
    cites = [{"n": 1, "title": "Kế hoạch CCHC phường Tân An", "section": "I > 1", "text": "100% thủ tục…",
              "label": label.format(n=1, s="I > 1"), "source": "tan-an.txt"},
             {"n": 2, "title": "Kế hoạch CCHC phường Tân An", "section": "II", "text": "Phòng Văn hóa…",
              "label": label.format(n=2, s="II"), "source": "tan-an.txt"}]
    shown = format_sources(cites)
    assert shown.count("Kế hoạch CCHC phường Tân An") == 1 and "[1], [2] Kế hoạch" in shown
    assert "[1] mục I > 1: “100% thủ tục…”" in shown and "[2] mục II: “Phòng Văn hóa…”" in shown
    assert "tan-an.txt" not in shown  # a file name means nothing to a citizen
