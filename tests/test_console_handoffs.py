"""The hand-off queue in the officers' console: conversations a citizen asked to pass to a person, redacted,
behind login, marked done with a CSRF-checked form."""
from __future__ import annotations

import pytest

from test_console_http import EVAL_FILE, Client, start_console


@pytest.fixture(scope="module")
def console(tmp_path_factory, assistant, index_settings, built_index):
    c = start_console(tmp_path_factory.mktemp("console-handoffs"), assistant, index_settings, EVAL_FILE)
    c.handoff = c.store.enqueue_handoff(
        "zalo_bot", c.store.hash_user("zalo_bot", "u-9"), "người dân nhắn “gặp cán bộ”", "phường An Hải",
        [{"who": "dân", "text": "làm lại căn cước ở đâu, sđt em 0912345678"},
         {"who": "trợ lý", "text": "Cấp lại thẻ căn cước: thực hiện ở cấp xã."},
         {"who": "dân", "text": "gặp cán bộ"}])
    yield c
    c.stop()


def test_the_queue_is_behind_login(console):
    client = Client(console.url)
    response = client.get("/handoffs", follow_redirects=False)
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]
    client.http.close()


def test_an_officer_reads_the_redacted_conversation_and_marks_it_done(console):
    officer = Client(console.url)
    assert officer.login().status_code == 303
    page = officer.get("/handoffs").text
    assert "gặp cán bộ" in page and "Zalo Bot" in page and "phường An Hải" in page
    assert "0912345678" not in page  # the citizen's number never reaches the page in clear
    assert officer.post(f"/handoffs/{console.handoff}/done", {"csrf_token": "forged"}).status_code == 403
    done = officer.post(f"/handoffs/{console.handoff}/done", {"csrf_token": officer.token("/handoffs")})
    assert done.status_code == 303
    after = officer.get("/handoffs").text
    assert "Đã đánh dấu đã xử lý" in after and f'id="handoff-{console.handoff}"' not in after
    assert f'id="handoff-{console.handoff}"' in officer.get("/handoffs?all=1").text
    officer.http.close()
