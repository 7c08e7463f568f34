"""Knowledge management in the console over real HTTP: document pages, validated metadata edits saved as front
matter, disable / enable / delete into the trash, the check-compare-publish flow, rollback and history; every
page behind login, a viewer cannot change anything, and every form needs its CSRF token.
"""
from __future__ import annotations

import re
from pathlib import Path

import frontmatter
import pytest

from index import store
from knowledge_console import (
    EDITOR, GUIDE_ID, PLAN_FILE, PLAN_ID, PROCEDURE_ID, VIEWER, Client, section, start, wait_for_check,
)
from test_console_http import USER

PAGES = ["/knowledge", f"/knowledge/doc/{PLAN_ID}", f"/knowledge/doc/{PROCEDURE_ID}", "/knowledge/publish",
         "/knowledge/publish/rollback", "/knowledge/history", "/knowledge/trash", "/knowledge/upload"]
# Every change, with a form that would be valid if it carried the session's CSRF token.
CHANGES = [
    (f"/knowledge/doc/{PLAN_ID}/edit", {"title": "Tiêu đề khác", "type": "kế hoạch", "scope": "ward",
                                         "ward": "phường Tân An"}),
    (f"/knowledge/doc/{PLAN_ID}/disable", {}),
    (f"/knowledge/doc/{PLAN_ID}/enable", {}),
    (f"/knowledge/doc/{PLAN_ID}/delete", {"confirm": PLAN_ID}),
    ("/knowledge/trash/restore", {"name": "20260101T000000000000Z-x"}),
    ("/knowledge/publish/check", {}),
    ("/knowledge/publish/confirm", {"version": "20260101T000000000000Z"}),
    ("/knowledge/publish/cancel", {"version": "20260101T000000000000Z"}),
    ("/knowledge/publish/rollback", {"confirm": "1", "target": "x"}),
    ("/knowledge/upload/discard", {"doc_id": PLAN_ID}),
]


@pytest.fixture
def console(tmp_path, embedder):
    c = start(tmp_path, embedder)
    yield c
    c.stop()


@pytest.fixture
def editor(console):
    client = console.login(EDITOR)
    yield client
    client.http.close()


def files(console) -> dict[str, bytes]:
    return {str(p.relative_to(console.knowledge)): p.read_bytes() for p in sorted(console.knowledge.rglob("*"))
            if p.is_file()}


def edit_form(client: Client, **changes: str) -> dict:
    """The edit form as the page fills it, with some fields changed."""
    page = client.get(f"/knowledge/doc/{PLAN_ID}").text
    form = section(page, "edit")
    values = dict(re.findall(r'<input name="(\w+)" value="([^"]*)"', form))
    for name, options in re.findall(r'<select name="(\w+)">(.*?)</select>', form):
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)', options)
        values[name] = "" if chosen is None else chosen.group(1) if chosen.group(1) is not None else chosen.group(2)
    values.update(csrf_token=re.search(r'name="csrf_token" value="([^"]+)"', page).group(1), **changes)
    return values


def test_every_knowledge_page_needs_a_login(console):
    anonymous = Client(console.url)
    for path in PAGES:
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    before = files(console)
    for path, form in CHANGES:
        assert anonymous.post(path, form).status_code == 303, path
    assert files(console) == before


def test_every_form_needs_its_csrf_token(console, editor):
    before = files(console)
    versions = store.list_versions(console.settings.data_dir)
    for path, form in CHANGES:
        assert editor.post(path, form).status_code == 403, path
        assert editor.post(path, {**form, "csrf_token": "not-the-token"}).status_code == 403, path
    assert files(console) == before
    assert store.list_versions(console.settings.data_dir) == versions  # no check was started either
    assert console.app.state.publisher.started == 0.0


def test_a_viewer_reads_every_page_but_cannot_change_anything(console):
    viewer = console.login(VIEWER)
    for path in PAGES:
        page = viewer.get(path)
        assert page.status_code == 200, path
        assert not re.search(r'<form method="post" action="/knowledge/(doc|publish|trash|upload)', page.text), path
    before = files(console)
    for path, form in CHANGES:
        token = viewer.token("/knowledge")
        refused = viewer.post(path, {**form, "csrf_token": token})
        assert refused.status_code == 403 and "không có quyền" in refused.text, path
    assert files(console) == before
    assert console.app.state.publisher.started == 0.0


def test_no_page_shows_a_command_or_a_server_path(console, editor):
    for path in PAGES:
        text = editor.get(path).text
        for leak in ("cchc ", "--update", "--rebuild", str(console.knowledge), str(console.settings.data_dir),
                     "/tmp/", ".md<", "front matter"):
            assert leak not in text, (path, leak)


def test_the_document_page_shows_metadata_passages_and_the_questions_that_need_it(console, editor):
    page = editor.get(f"/knowledge/doc/{PLAN_ID}").text
    assert "15/KH-UBND" in section(page, "metadata") and "03/02/2026" in section(page, "metadata")
    passages = section(page, "passages")
    assert "Tỷ lệ hồ sơ giải quyết đúng hạn đạt từ 98% trở lên" in passages  # as indexed, not as typed
    assert "Người ký: Lê Văn Bình" in passages  # the card passage the assistant answers "who signed" from
    tests = section(page, "tests")
    assert "Ai ký kế hoạch cải cách hành chính năm 2026 của phường Tân An?" in tests
    assert "Làm sao tra cứu" not in tests  # that question needs the guide
    assert "Nội dung kế hoạch" in tests  # the category's Vietnamese name, not plan_fact
    assert "đang phục vụ" in section(page, "doc-state")


def test_a_metadata_edit_is_checked_field_by_field_and_saved_as_front_matter(console, editor):
    path = console.knowledge / PLAN_FILE
    original = frontmatter.load(path)
    before = path.read_bytes()
    bad = editor.post(f"/knowledge/doc/{PLAN_ID}/edit", edit_form(
        editor, date="31/02/2026", number="mười lăm", ward="phường Không Có", year="20266", title=""))
    assert bad.status_code == 400
    errors = {key: section(bad.text, "edit").split(f'id="error-{key}">', 1)[1].split("</span>", 1)[0]
              for key in ("date", "number", "ward", "year", "title")}
    assert "31/02/2026 không có trong lịch" in errors["date"]
    assert "15/KH-UBND" in errors["number"]
    assert "không có trong danh sách xã/phường" in errors["ward"]
    assert "4 chữ số" in errors["year"] and "không được để trống" in errors["title"]
    assert 'value="mười lăm"' in bad.text  # what the officer typed is kept for correcting
    assert path.read_bytes() == before

    saved = editor.post(f"/knowledge/doc/{PLAN_ID}/edit", edit_form(
        editor, date="5/2/2026", number="16 / KH-UBND", signer="Trần Thị Hoa", ward="phường An Hải",
        replaces="kh-cchc-tan-an-2025"))
    assert saved.status_code == 303
    after = frontmatter.load(path)
    assert after["date"] == "2026-02-05" and after["number"] == "16/KH-UBND" and after["signer"] == "Trần Thị Hoa"
    assert after["ward"] == "phường An Hải"  # from the ward list (a ward profile)
    assert after["replaces"] == "kh-cchc-tan-an-2025"
    assert after.content == original.content  # the body is untouched
    assert after["issuer"] == original["issuer"] and after["source"] == original["source"]  # other keys kept
    page = editor.get(f"/knowledge/doc/{PLAN_ID}").text
    assert "Đã lưu: Số văn bản, Ngày ký, Xã/phường, Người ký, Thay thế văn bản" in page
    assert "đã sửa, chờ xuất bản" in section(page, "doc-state")
    assert "Được thay bằng" in editor.get("/knowledge/doc/kh-cchc-tan-an-2025").text
    entry = console.audit()[0]
    assert (entry.user, entry.action) == (EDITOR, "document.edit") and "Người ký" in entry.detail


def test_disable_enable_delete_and_restore_a_document(console, editor):
    path = console.knowledge / "guidance" / f"{GUIDE_ID}.md"
    token = editor.token(f"/knowledge/doc/{GUIDE_ID}")
    assert editor.post(f"/knowledge/doc/{GUIDE_ID}/disable", {"csrf_token": token}).status_code == 303
    assert frontmatter.load(path)["disabled"] is True
    listing = editor.get("/knowledge?show=disabled").text
    assert "Hướng dẫn nộp hồ sơ trực tuyến" in listing and "đã tắt, chờ xuất bản" in listing
    assert editor.post(f"/knowledge/doc/{GUIDE_ID}/enable", {"csrf_token": token}).status_code == 303
    assert "disabled" not in frontmatter.load(path).metadata

    content = path.read_bytes()
    unconfirmed = editor.post(f"/knowledge/doc/{GUIDE_ID}/delete", {"csrf_token": token})
    assert unconfirmed.status_code == 303 and path.exists()
    assert editor.post(f"/knowledge/doc/{GUIDE_ID}/delete", {"csrf_token": token, "confirm": GUIDE_ID}
                       ).status_code == 303
    assert not path.exists()
    kept = list((Path(console.settings.data_dir) / "console" / "trash").rglob(f"{GUIDE_ID}.md"))
    assert len(kept) == 1 and kept[0].read_bytes() == content  # moved, never deleted
    trash = editor.get("/knowledge/trash").text
    assert "Hướng dẫn nộp hồ sơ trực tuyến" in trash
    name = re.search(r'name="name" value="([^"]+)"', trash).group(1)
    assert editor.post("/knowledge/trash/restore", {"csrf_token": token, "name": name}).status_code == 303
    assert path.read_bytes() == content and "Thùng rác trống" in editor.get("/knowledge/trash").text
    assert [e.action for e in console.audit()][:4] == [
        "document.restore", "document.delete", "document.enable", "document.disable"]


def test_a_procedure_record_is_viewed_and_disabled_but_not_edited(console, editor):
    page = editor.get(f"/knowledge/doc/{PROCEDURE_ID}").text
    assert "Thủ tục đăng ký nhận cha, mẹ, con có yếu tố nước ngoài tại khu vực biên giới" in page
    assert "Hộ tịch" in section(page, "metadata") and "mã 1.000080" in section(page, "passages")
    assert 'id="edit"' not in page and 'id="disable-button"' in page
    path = next(console.knowledge.rglob(f"{PROCEDURE_ID}.md"))
    before = path.read_bytes()
    token = editor.token(f"/knowledge/doc/{PROCEDURE_ID}")
    refused = editor.post(f"/knowledge/doc/{PROCEDURE_ID}/edit", {"csrf_token": token, "title": "Khác"})
    assert refused.status_code == 303 and path.read_bytes() == before
    assert editor.post(f"/knowledge/doc/{PROCEDURE_ID}/disable", {"csrf_token": token}).status_code == 303
    assert frontmatter.load(path)["disabled"] is True


def test_a_ward_profile_links_to_its_own_form(console, editor):
    page = editor.get("/knowledge/doc/thong-tin-phuong-an-hai").text
    assert '/knowledge/wards/phuong-an-hai/edit' in page and 'id="edit"' not in page


def test_a_check_shows_the_questions_that_moved_and_can_be_cancelled(console, editor):
    live = store.current_version(console.settings.data_dir)
    editor.post(f"/knowledge/doc/{PLAN_ID}/edit", edit_form(editor, signer="Trần Thị Hoa"))
    assert editor.post("/knowledge/publish/check", {"csrf_token": editor.token("/knowledge/publish")}
                       ).status_code == 303
    page = wait_for_check(editor)
    assert "Phiên bản mới đã qua kiểm tra" in page
    row = page.split('id="diff-q2"', 1)[1].split("</li>", 1)[0]
    assert "Kém đi" in row and "Lê Văn Bình" in row and "Trần Thị Hoa" in row  # side by side
    assert row.index("Lê Văn Bình") < row.index("Trần Thị Hoa")  # live first, then the new version
    assert 'id="diff-q1"' not in page  # unchanged questions are only counted
    assert "Trả lời đúng: 75,0% → 50,0%" in page  # q1 was already wrong: the 2025 plan answers it
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    assert store.version_state(console.settings.data_dir, version) == "validated"

    cancel = editor.post("/knowledge/publish/cancel", {"csrf_token": editor.token("/knowledge/publish"),
                                                       "version": version})
    assert cancel.status_code == 303
    assert version not in store.list_versions(console.settings.data_dir)
    assert store.current_version(console.settings.data_dir) == live
    assert "Đã huỷ phiên bản chờ xuất bản" in editor.get("/knowledge/publish").text
    assert console.audit()[0].action == "publish.cancel"


def test_a_check_that_fails_the_quality_gate_offers_no_publish_button(tmp_path, embedder):
    console = start(tmp_path, embedder, tolerance=0.02)
    try:
        editor = console.login(EDITOR)
        editor.post(f"/knowledge/doc/{PLAN_ID}/edit", edit_form(editor, signer="Trần Thị Hoa"))
        editor.post("/knowledge/publish/check", {"csrf_token": editor.token("/knowledge/publish")})
        page = wait_for_check(editor)
        assert "KHÔNG đạt kiểm tra" in page and "giảm từ 0.750 xuống 0.500" in page
        assert 'id="publish-button"' not in page and "Trần Thị Hoa" in page
        assert len(store.list_versions(console.settings.data_dir)) == 1
    finally:
        console.stop()


def test_publish_then_rollback_with_history(console, editor):
    first = store.current_version(console.settings.data_dir)
    assert 'id="rollback-link"' not in editor.get("/knowledge/publish").text  # nothing to go back to yet
    editor.post(f"/knowledge/doc/{PLAN_ID}/edit", edit_form(editor, signer="Trần Thị Hoa"))
    editor.post("/knowledge/publish/check", {"csrf_token": editor.token("/knowledge/publish")})
    version = re.search(r'name="version" value="([^"]+)"', wait_for_check(editor)).group(1)
    published = editor.post("/knowledge/publish/confirm", {"csrf_token": editor.token("/knowledge/publish"),
                                                           "version": version})
    assert published.status_code == 303
    assert store.current_version(console.settings.data_dir) == version == console.assistant.version
    page = editor.get("/knowledge/publish").text
    assert "Đã xuất bản phiên bản mới: sửa 1 văn bản" in page and "1 kém đi" in page
    assert 'id="rollback-link"' in page
    assert "Trần Thị Hoa" in console.assistant.answer("Ai ký kế hoạch cải cách hành chính năm 2026 của phường Tân An?").text

    confirm_page = editor.get("/knowledge/publish/rollback").text
    assert "xuất bản bởi <strong>bientap.test</strong>" in confirm_page
    token = editor.token("/knowledge/publish/rollback")
    unconfirmed = editor.post("/knowledge/publish/rollback", {"csrf_token": token, "target": first})
    assert unconfirmed.status_code == 303 and store.current_version(console.settings.data_dir) == version
    done = editor.post("/knowledge/publish/rollback", {"csrf_token": token, "target": first, "confirm": "1"})
    assert done.status_code == 303 and done.headers["location"] == "/knowledge/history"
    assert store.current_version(console.settings.data_dir) == first == console.assistant.version
    history = editor.get("/knowledge/history").text
    assert "Đã quay lại phiên bản trước" in history and "Kế hoạch cải cách hành chính năm 2026" in history
    log = history.split('id="history-log"', 1)[1]
    assert "Quay lại phiên bản trước" in log and "Xuất bản" in log and EDITOR in log
    assert "sửa 1 văn bản" in section(history, "version-list")
    assert [e.action for e in console.audit()][:2] == ["rollback", "publish"]


def test_an_admin_is_an_editor_too(console):
    admin = console.login(USER)
    token = admin.token(f"/knowledge/doc/{GUIDE_ID}")
    assert admin.post(f"/knowledge/doc/{GUIDE_ID}/disable", {"csrf_token": token}).status_code == 303
    assert console.audit()[0].user == USER


def test_disabling_an_outdated_plan_shows_the_answer_it_fixes(console, editor):
    token = editor.token("/knowledge/doc/kh-cchc-tan-an-2025")
    assert editor.post("/knowledge/doc/kh-cchc-tan-an-2025/disable", {"csrf_token": token}).status_code == 303
    editor.post("/knowledge/publish/check", {"csrf_token": editor.token("/knowledge/publish")})
    page = wait_for_check(editor)
    assert "Tắt" in section(page, "changes") and "năm 2025 của phường Tân An" in section(page, "changes")
    row = page.split('id="diff-q1"', 1)[1].split("</li>", 1)[0]
    assert "Tốt lên" in row
    live, new = row.split('class="side"')[1:3]
    assert "95%" in live and "✗ Sai" in live and "năm 2025" in live  # the old plan answered the question
    assert "98%" in new and "✓ Đúng" in new and "năm 2026" in new
    assert "Trả lời đúng: 75,0% → 100,0%" in page
