"""The lexicon and admin pages in Debian's Chromium (Playwright, no browser download).

An editor adds an abbreviation citizens use; "Hỏi thử" keeps the old answer until the edit is checked
and published, then answers from the guide it now understands. An admin adds an officer and reads the
audit log. Each page is photographed at 1280 and 390 px into tests/artifacts/ for a person to look at.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from knowledge_console import EDITOR, start
from test_console_browser import ARTIFACTS, DESKTOP, PHONE
from test_console_http import PASSWORD, USER
from test_console_publish_browser import browser  # noqa: F401  (fails under CI when chromium is missing)

LEXICON = Path(__file__).resolve().parents[1] / "knowledge" / "lexicon"
QUESTION = "tra cứu ttrhs như thế nào"  # "ttrhs" is in no eval file and means nothing until an officer adds it


@pytest.fixture
def console(tmp_path, embedder, monkeypatch):
    words = tmp_path / "lexicon"
    shutil.copytree(LEXICON, words)
    monkeypatch.setenv("CCHC_LEXICON_DIR", str(words))  # the editor writes here, not into the repository
    c = start(tmp_path, embedder)
    yield c
    c.stop()


def _page(browser, console, user: str, viewport=DESKTOP):  # noqa: F811
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(console.url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/ask")
    return page


def _shots(page, name: str) -> None:
    """Desktop, then phone width (which must not scroll sideways)."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{name}: sideways"
    page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def _ask(page, console) -> str:
    page.goto(console.url + "/ask")
    page.fill("textarea[name=question]", QUESTION)
    page.click("form[action='/ask'] button[type=submit]")
    page.wait_for_selector("#answer")
    return page.inner_text("#answer")


def test_a_new_abbreviation_changes_the_answer_once_published(browser, console):  # noqa: F811
    page = _page(browser, console, EDITOR)
    assert "chưa tìm thấy" in _ask(page, console)

    page.goto(console.url + "/lexicon")
    assert "Từ điển đang dùng đúng như bản đang phục vụ" in page.inner_text("#lexicon-status")
    page.click("#edit summary")
    page.fill("#edit input[name=term]", "ttrhs")
    page.fill("#edit input[name=means]", "tình trạng hồ sơ")
    page.fill("#edit input[name=note]", "Người dân viết tắt khi hỏi hồ sơ đã nộp tới đâu")
    page.fill("#edit input[name=example]", "hồ sơ của tôi tới đâu rồi")  # the example lacks the word: refused
    page.click("#edit button[type=submit]")
    error = page.inner_text("#edit .flash.error")
    assert "không chứa" in error and ".yaml" not in error
    page.fill("#edit input[name=example]", "xem ttrhs ở đâu")
    page.click("#edit button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert "Đã thêm “ttrhs”" in page.inner_text(".flash")
    assert "mới, chưa xuất bản" in page.inner_text("#e-ttrhs")
    assert "Có thay đổi chưa xuất bản" in page.inner_text("#lexicon-status")
    _shots(page, "lexicon")

    assert "chưa tìm thấy" in _ask(page, console)  # saved, not published: citizens get the old answer

    page.goto(console.url + "/lexicon")
    page.click("#lexicon-publish")
    page.wait_for_url("**/knowledge/publish")
    page.wait_for_selector("#candidate", timeout=120_000)
    assert "Từ điển" in page.inner_text("main")
    page.click("#publish-button")
    page.wait_for_selector("#published")
    answer = _ask(page, console)
    assert "chưa tìm thấy" not in answer and "tình trạng hồ sơ" in answer
    assert "Hướng dẫn nộp hồ sơ trực tuyến" in page.inner_text("#citations")
    page.goto(console.url + "/lexicon")
    assert "Từ điển đang dùng đúng như bản đang phục vụ" in page.inner_text("#lexicon-status")
    page.context.close()


def test_an_admin_adds_an_officer_and_reads_the_audit_log(browser, console):  # noqa: F811
    page = _page(browser, console, USER)
    page.goto(console.url + "/admin")
    page.fill("#add-account input[name=name]", "nguyen.thi.lan")
    page.select_option("#add-account select[name=role]", "viewer")
    page.click("#add-account button[type=submit]")
    page.wait_for_selector("#issued")
    password = page.inner_text("#issued code.password")
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", password)
    assert "Chỉ xem" in page.inner_text("#acc-nguyen\\.thi\\.lan")
    _shots(page, "admin")
    page.goto(console.url + "/admin/audit")
    assert "nguyen.thi.lan" in page.inner_text("#audit") and "Thêm tài khoản" in page.inner_text("#audit")
    _shots(page, "audit")
    page.context.close()
