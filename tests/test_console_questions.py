"""The question log in the officers' console, over real HTTP: every page behind login, CSRF on its forms,
filters and paging on the server, one question re-asked with the live assistant and added to the test set,
and the not-found queue grouping the same question written in different ways."""
from __future__ import annotations

import re
import time

import pytest

from bot.console.questions import group_key, not_found_queue
from bot.evaluate import load_items
from index.vietnamese import fold
from test_console_http import EVAL_FILE, Client, start_console

HOTLINE = "Số tổng đài hỗ trợ dịch vụ công là gì?"
DAY = 24 * 3600


@pytest.fixture(scope="module")
def console(tmp_path_factory, assistant, index_settings, built_index):
    c = start_console(tmp_path_factory.mktemp("console-questions"), assistant, index_settings, EVAL_FILE)
    store = c.store
    now = time.time()

    def log(channel, question, found, kind="answer", age_days=0.0, ms=800.0, ward=None, answer="Trả lời mẫu."):
        qid = store.log_question(channel, store.hash_user(channel, question), question, answer, found, [], ms,
                                 kind=kind, ward=ward)
        store._execute("UPDATE questions SET created_at = ? WHERE id = ?", (now - age_days * DAY, qid))
        return qid

    c.ids = {
        "hotline": log("telegram", HOTLINE, True, ms=420.0, ward="Phường An Hải"),
        "old": log("zalo_bot", "Thủ tục đăng ký khai sinh cần giấy tờ gì?", True, age_days=20),
        "cccd1": log("zalo_bot", "Làm căn cước ở đâu?", False, kind="not_found"),
        "cccd2": log("messenger", "làm can cuoc o dau", False, kind="not_found"),
        "cccd3": log("zalo_bot", "Ở đâu làm căn cước?", False, kind="not_found"),
        "hello": log("telegram", "Xin chào", True, kind="smalltalk"),
    }
    fine = [log("telegram", f"Câu hỏi số {i} về lệ phí trước bạ?", True, age_days=2) for i in range(55)]
    c.ids["fine"] = fine
    store.record_vote(c.ids["cccd1"], "zalo_bot", "u-1", -1)
    store.record_vote(c.ids["hotline"], "telegram", "u-2", 1)
    yield c
    c.stop()


@pytest.fixture
def officer(console):
    client = Client(console.url)
    assert client.login().status_code == 303
    yield client
    client.http.close()


def rows(html: str) -> int:
    return html.count('<tr id="q-')


@pytest.mark.parametrize("path", ["/questions", "/questions?nf=1", "/questions/1"])
def test_question_pages_need_a_login(console, path):
    client = Client(console.url)
    response = client.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    for form in ("/questions/1/ask", "/questions/1/to-test"):
        assert client.post(form, {"csrf_token": "x"}).status_code in (303, 403)


def test_the_log_shows_each_question_with_channel_names_and_pages_of_50(officer, console):
    page = officer.get("/questions")
    assert page.status_code == 200
    assert "61 câu hỏi" in page.text
    assert rows(page.text) == 50
    assert "Zalo Bot" in page.text and "zalo_bot" not in page.text.replace('value="zalo_bot"', "")
    assert "Phường An Hải" in page.text and "0,4 giây" in page.text
    assert 'rel="next"' in page.text and "Trang 1/2" in page.text
    second = officer.get("/questions?page=2")
    assert rows(second.text) == 11 and "Trang 2/2" in second.text and 'rel="prev"' in second.text
    assert "Thủ tục đăng ký khai sinh" in second.text  # the oldest comes last


def test_filters_not_found_thumbs_down_channel_date_and_search(officer, console):
    nf = officer.get("/questions?nf=1").text
    assert rows(nf) == 3 and "Xin chào" not in nf  # a greeting is no miss
    down = officer.get("/questions?down=1").text
    assert rows(down) == 1 and "Làm căn cước ở đâu?" in down and "1 👎" in down
    messenger = officer.get("/questions?channel=messenger").text
    assert rows(messenger) == 1 and "can cuoc" in messenger
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))
    recent = officer.get(f"/questions?from={today}").text
    assert rows(recent) == 5 and "lệ phí" not in recent  # the 2- and 20-day-old ones are out
    older = officer.get(f"/questions?to={today}&nf=1&page=1").text
    assert rows(older) == 3
    search = officer.get("/questions?q=CĂN CƯỚC").text  # Vietnamese capitals match
    assert rows(search) == 2
    assert rows(officer.get("/questions?ward=Phường An Hải").text) == 1
    assert "Ngày không hợp lệ" in officer.get("/questions?from=31-12-2026").text


def test_the_not_found_queue_groups_the_same_question_in_other_words(officer, console):
    assert group_key("Làm căn cước ở đâu?") == group_key("làm can cuoc o dau") == group_key("Ở đâu làm căn cước?")
    queue = not_found_queue([(3, "Làm căn cước ở đâu?"), (2, "Ở đâu làm căn cước?"), (1, "Phí trước bạ?")])
    assert [(g.count, g.wordings) for g in queue] == [(2, 2), (1, 1)]
    page = officer.get("/questions").text
    section = page.split('id="not-found-queue"')[1].split("</section>")[0]
    assert "<b title=\"số lần hỏi\">3</b>" in section and "3 cách hỏi" in section


def test_open_a_question_ask_it_again_and_see_why(officer, console):
    qid = console.ids["hotline"]
    page = officer.get(f"/questions/{qid}")
    assert page.status_code == 200 and HOTLINE in page.text and "Trả lời mẫu." in page.text
    assert "Telegram" in page.text and "Phường An Hải" in page.text and "1 👍" in page.text
    token = officer.token(f"/questions/{qid}")
    assert officer.post(f"/questions/{qid}/ask", {"csrf_token": "wrong"}).status_code == 403
    again = officer.post(f"/questions/{qid}/ask", {"csrf_token": token})
    assert again.status_code == 200
    live = again.text.split('id="live"')[1]
    assert "1800.1096" in live and "khác lần trước" in live
    assert "Vì sao:" in live and "đã trả lời" in live
    assert officer.get("/questions/999999").status_code == 404


def test_a_not_found_question_becomes_a_test_question_in_one_step(officer, console):
    qid = console.ids["cccd2"]
    token = officer.token(f"/questions/{qid}")
    assert officer.post(f"/questions/{qid}/to-test", {"csrf_token": "wrong", "not_found": "1"}).status_code == 403
    before = len(load_items(console.eval_path))
    empty = officer.post(f"/questions/{qid}/to-test", {"csrf_token": token})
    assert empty.status_code == 400 and "Hãy ghi câu trả lời đúng" in empty.text
    assert len(load_items(console.eval_path)) == before
    done = officer.post(f"/questions/{qid}/to-test", {"csrf_token": token, "question": "làm can cuoc o dau",
                                                       "not_found": "1", "category": ""})
    assert done.status_code == 303 and done.headers["location"].startswith("/tests#")
    new = load_items(console.eval_path)[-1]
    assert (new.question, new.expect_found, new.category) == ("làm can cuoc o dau", False, "question_log")
    assert done.headers["location"] == f"/tests#{new.id}"


def visible_text(html: str) -> str:
    """The words an officer reads: no tags, no attribute values, nothing under a "technical details" toggle."""
    html = re.sub(r'<details class="technical[^"]*"[^>]*>.*?</details>', " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("path", ["/ask", "/questions", "/tests", "/feedback", "/overview", "/knowledge",
                                  "/knowledge/upload", "/login"])
def test_pages_show_no_shell_commands_or_server_paths(officer, console, path):
    page = (Client(console.url) if path == "/login" else officer).get(path)
    assert page.status_code == 200
    text = visible_text(page.text)
    assert not re.search(r"\bcchc (index|eval|knowledge|console|ask|zalo|telegram|messenger)\b", text), path
    for bad in ("/tmp", str(console.settings.data_dir), str(console.eval_path), ".yaml", "knowledge/", "CCHC_"):
        assert bad not in text, f"{path} shows {bad!r}"


def test_test_set_page_names_categories_in_vietnamese_and_searches(officer):
    page = officer.get("/tests").text
    text = visible_text(page)
    assert "Nội dung kế hoạch" in text and "Ngoài phạm vi" in text
    assert "plan_fact" not in text and "out_of_scope" not in text
    assert "questions.yaml" in page.split('id="technical"')[1].split("</details>")[0]  # the file name, behind a toggle
    found = officer.get("/tests?q=tong dai").text  # no diacritics, lower case: still finds "tổng đài"
    assert 0 < found.count('<tr id="q') < page.count('<tr id="q')
    for row in re.findall(r'<tr id="q[^"]*".*?</tr>', found, flags=re.S):  # in the question or what it expects
        cells = re.findall(r'<td data-label="(?:Câu hỏi|Mong đợi)">(.*?)</td>', row, flags=re.S)
        assert "tong dai" in fold(" ".join(cells)), row
