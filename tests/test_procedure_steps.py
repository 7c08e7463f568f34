"""Steps by case and the online way, as a citizen reads them: the case asked about, in the record's words."""
from __future__ import annotations

from pathlib import Path

from bot.procedure_compose import compose_field, compose_fields
from bot.procedure_steps import step_cases
from index.documents import read_document

FIXTURES = Path(__file__).parent / "fixtures" / "procedure_records"
DOCS = {p.stem: read_document(p) for p in sorted(FIXTURES.glob("*.md"))}


def test_steps_are_split_by_the_cases_the_portal_names():
    raw = ("* Trường hợp nộp trực tiếp: - Người nộp mang hồ sơ đến Ủy ban nhân dân cấp xã.\n"
           "- Công chức kiểm tra hồ sơ và viết giấy tiếp nhận.\n"
           "* Trường hợp nộp qua mạng: - Người nộp đăng nhập Cổng Dịch vụ công bằng tài khoản định danh.\n")
    cases = step_cases(raw)
    assert [c for c, _ in cases] == ["Trường hợp nộp trực tiếp", "Trường hợp nộp qua mạng"]
    assert cases[0][1][1].startswith("Công chức kiểm tra hồ sơ")
    assert "tài khoản định danh" in cases[1][1][0]


def test_online_says_how_in_the_records_words():
    """"Làm online được không" is rarely all a citizen asks: which account, which app, which portal."""
    birth = compose_field(DOCS["1.001193"], "online").text
    assert "Cách làm trực tuyến:" in birth and "Ứng dụng định danh quốc gia" in birth
    record = compose_field(DOCS["3.000333"], "online").text
    assert "tài khoản định danh mức độ 2" in record and "sau đây gọi tắt" not in record
    absence = compose_field(DOCS["1.003677"], "online").text
    assert "Số điện thoại hoặc hộp thư điện tử" in absence.replace("số điện thoại", "Số điện thoại")
    # a passport's steps are in person ("trực tiếp nộp hồ sơ … hoặc qua Cổng …"): no made-up online how
    assert "Cách làm trực tuyến" not in compose_field(DOCS["1.001456"], "online").text


def test_steps_are_numbered_and_shortened():
    a = compose_field(DOCS["1.004222"], "steps")
    lines = a.text.splitlines()
    assert lines[0] == "Các bước đăng ký thường trú:"
    assert lines[1] == "1) Cá nhân, tổ chức chuẩn bị hồ sơ theo quy định của pháp luật."
    assert lines[2] == "2) Cá nhân, tổ chức nộp hồ sơ đến Công an cấp xã."


def test_steps_follow_the_channel_asked_and_name_the_other_way():
    """The portal lists the household-business steps twice: in person or by post, and online."""
    online = compose_fields(DOCS["1.001612"], ["steps", "online"]).text
    assert "qua mạng thông tin điện tử:" in online.split("\n")[0]
    assert "tài khoản định danh điện tử" in online
    in_person = compose_field(DOCS["1.001612"], "steps").text
    assert "trực tiếp" in in_person.split("\n")[0]
    assert "Các bước khác trên Cổng: Trường hợp đăng ký qua mạng thông tin điện tử." in in_person
