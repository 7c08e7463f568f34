"""Knowledge management as an officer does it, in Debian's Chromium driven by Playwright (no browser download).

An editor corrects a plan's signer on its page, checks the change, sees the test question it breaks side by
side with the live answer, publishes anyway, then rolls back with a confirmation. The document page and the
comparison are photographed at 1280 and 390 px into tests/artifacts/ for a person to look at.
"""
from __future__ import annotations

import os
import re

import pytest

from knowledge_console import EDITOR, PLAN_ID, start
from test_console_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE
from test_console_http import PASSWORD

SIGNER_QUESTION = "Ai ký kế hoạch cải cách hành chính năm 2026 của phường Tân An?"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: CI must install it (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[test]')")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def console(tmp_path, embedder):
    c = start(tmp_path, embedder)
    yield c
    c.stop()


def _editor_page(browser, console, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of publish-anyway and rollback
    page.goto(console.url + "/login")
    page.fill("input[name=username]", EDITOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/ask")
    return page


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _shots(page, name: str) -> None:
    """The page at desktop width, then at phone width (which must not scroll sideways)."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert _no_sideways_scroll(page), f"{name} needs sideways scrolling on a phone"
    page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def _check_changes(page) -> None:
    page.goto(page.url.split("/knowledge")[0] + "/knowledge/publish")
    page.click("#check-button")
    page.wait_for_selector("#candidate, #check-result, #check-error", timeout=120_000)


def test_a_metadata_edit_is_published_after_its_comparison(browser, console):
    page = _editor_page(browser, console)
    page.goto(console.url + "/knowledge")
    _shots(page, "knowledge-list")
    page.click(f"#doc-{PLAN_ID} a")
    page.wait_for_url(f"**/knowledge/doc/{PLAN_ID}")
    assert "Lê Văn Bình" in page.inner_text("#metadata")
    page.click("#edit summary")
    page.fill("#edit input[name=date]", "30/02/2026")  # no such day: refused, nothing saved
    page.click("#save-metadata")
    assert "không có trong lịch" in page.inner_text("#error-date")
    page.fill("#edit input[name=date]", "03/02/2026")
    page.fill("#edit input[name=signer]", "Trần Thị Hoa")
    page.click("#save-metadata")
    page.wait_for_selector(".flash")
    assert "Đã lưu: Người ký" in page.inner_text(".flash")
    assert "Trần Thị Hoa" in page.inner_text("#metadata")
    assert "chờ xuất bản" in page.inner_text("#doc-state")
    page.click("#edit summary")
    _shots(page, "document")

    page.click("#pending-note a")
    page.wait_for_url("**/knowledge/publish")
    assert "Kế hoạch cải cách hành chính năm 2026 của phường Tân An" in page.inner_text("#pending-list")
    page.click("#check-button")
    page.wait_for_selector("#candidate", timeout=120_000)
    row = page.locator("#diff-q2")
    assert "Kém đi" in row.inner_text() and SIGNER_QUESTION in row.inner_text()
    sides = row.locator(".side")
    assert "Lê Văn Bình" in sides.nth(0).inner_text() and "✓ Đúng" in sides.nth(0).inner_text()
    assert "Trần Thị Hoa" in sides.nth(1).inner_text() and "✗ Sai" in sides.nth(1).inner_text()
    box0, box1 = sides.nth(0).bounding_box(), sides.nth(1).bounding_box()
    assert abs(box0["y"] - box1["y"]) < 2 and box1["x"] > box0["x"] + 200  # side by side on a desk
    assert "1" in page.inner_text("#diff-counts .count-worse")
    assert "Trả lời đúng" in page.inner_text("#quality")
    _shots(page, "publish-diff")
    page.set_viewport_size(PHONE)
    box0, box1 = sides.nth(0).bounding_box(), sides.nth(1).bounding_box()
    assert box1["y"] > box0["y"] + box0["height"] - 2  # one above the other on a phone
    page.set_viewport_size(DESKTOP)

    page.click("#publish-button")  # "1 câu hỏi kiểm tra kém đi. Vẫn xuất bản…?" accepted
    page.wait_for_selector("#published")
    assert "Đã xuất bản phiên bản mới" in page.inner_text(".flash")
    assert "sửa 1 văn bản" in page.inner_text("#published")
    assert "Trần Thị Hoa" in console.assistant.answer(SIGNER_QUESTION).text  # citizens get the edit now
    page.goto(console.url + "/knowledge/history")
    assert EDITOR in page.inner_text("#version-list") and "Xuất bản" in page.inner_text("#history-log")
    page.context.close()


def test_rolling_back_asks_for_a_confirmation_then_serves_the_previous_version(browser, console):
    page = _editor_page(browser, console)
    page.goto(console.url + f"/knowledge/doc/{PLAN_ID}")
    page.click("#edit summary")
    page.fill("#edit input[name=signer]", "Trần Thị Hoa")
    page.click("#save-metadata")
    page.wait_for_selector(".flash")
    _check_changes(page)
    page.click("#publish-button")
    page.wait_for_selector("#published")
    assert "Trần Thị Hoa" in console.assistant.answer(SIGNER_QUESTION).text

    page.click("#rollback-link")
    page.wait_for_url("**/knowledge/publish/rollback")
    assert EDITOR in page.inner_text("#rollback-sides")
    page.click("#rollback-button")  # the box is not ticked: the browser refuses to send the form
    assert page.url.endswith("/knowledge/publish/rollback")
    assert "Trần Thị Hoa" in console.assistant.answer(SIGNER_QUESTION).text
    page.screenshot(path=str(ARTIFACTS / "rollback.png"), full_page=True)
    page.check("#rollback-confirm")
    page.click("#rollback-button")
    page.wait_for_url("**/knowledge/history")
    assert "Đã quay lại phiên bản trước" in page.inner_text(".flash")
    assert "Kế hoạch cải cách hành chính năm 2026 của phường Tân An" in page.inner_text(".flash")  # still edited
    assert "Lê Văn Bình" in console.assistant.answer(SIGNER_QUESTION).text
    log = page.inner_text("#history-log")
    assert re.search(r"Quay lại phiên bản trước", log) and EDITOR in log
    page.set_viewport_size(PHONE)
    assert _no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "phone-history.png"), full_page=True)
    page.context.close()
