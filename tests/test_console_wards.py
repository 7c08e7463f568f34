"""Ward profiles in the officers' console over real HTTP: the list and form read as plain Vietnamese (no file
paths), a save is CSRF-checked, validated like the files the bot loads, written, and audit-logged."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from bot.console.audit import AUDIT_FILE, AuditLog
from bot.console.auth import console_dir
from bot.types import Answer
from bot.wards import PROJECT_WARDS, WardProfiles
from conftest import make_settings
from index.wards import read_profile
from test_console_http import EVAL_FILE, USER, Client, start_console

FORM = {"unit": "phường", "name": "An Hải", "province": "thành phố Hải Phòng",
        "former_names": "phường An Hải Bắc\nxã An Hải Tây", "centre": "", "address": "số 8 đường Thử Nghiệm",
        "hours": "7h00–11h30 và 13h30–17h00, thứ Hai đến thứ Sáu", "phone": "0225 3555 010", "note": ""}


class NoAnswers:
    """The ward pages never ask the assistant anything."""

    def answer(self, question: str) -> Answer:
        return Answer(question, "", False, kind="not_found")


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    root = tmp_path_factory.mktemp("console-wards")
    wards = root / "knowledge" / "wards"
    wards.mkdir(parents=True)
    shutil.copy(PROJECT_WARDS / "phuong-an-hai.yaml", wards)
    (wards / "xa-hong-phong.yaml").write_text("unit: xã\nname: Hồng Phong\n", encoding="utf-8")  # unfinished
    (root / "src-data").mkdir()
    c = start_console(root, NoAnswers(), make_settings(root / "knowledge", root / "src-data"), EVAL_FILE)
    c.wards, c.root = wards, root
    yield c
    c.stop()


@pytest.fixture(scope="module")
def officer(console):
    client = Client(console.url)
    assert client.login().status_code == 303
    yield client
    client.http.close()


def no_paths(page: str, console) -> None:
    assert str(console.root) not in page and ".yaml" not in page and "/work/" not in page and "/tmp/" not in page


def test_the_pages_are_behind_login(console):
    anonymous = Client(console.url)
    for path in ("/knowledge/wards", "/knowledge/wards/phuong-an-hai/edit"):
        response = anonymous.get(path)
        assert response.status_code in (302, 303) and "/login" in response.headers["location"]
    anonymous.http.close()


def test_the_list_shows_each_ward_and_what_to_fix_in_plain_vietnamese(console, officer):
    page = officer.get("/knowledge/wards").text
    assert "Thông tin xã, phường" in page and "phường An Hải" in page and "dữ liệu mẫu" in page
    assert "thành phố Hải Phòng" in page and "02/12/2026" in page
    assert "xa-hong-phong" in page and "thiếu “địa chỉ” (address)" in page  # the unfinished file, and why
    no_paths(page, console)
    form = officer.get("/knowledge/wards/phuong-an-hai/edit")
    assert form.status_code == 200 and 'value="An Hải"' in form.text and "Cập nhật lần trước: 02/12/2026" in form.text
    no_paths(form.text, console)
    assert officer.get("/knowledge/wards/..%2Fsecret/edit").status_code == 404
    assert officer.get("/knowledge/wards/khong-co/edit").status_code == 404


def test_a_forged_or_wrong_form_changes_nothing(console, officer):
    before = (console.wards / "phuong-an-hai.yaml").read_bytes()
    forged = officer.post("/knowledge/wards/save", {**FORM, "file": "phuong-an-hai", "csrf_token": "forged"})
    assert forged.status_code == 403
    token = officer.token("/knowledge/wards/phuong-an-hai/edit")
    wrong = officer.post("/knowledge/wards/save", {**FORM, "file": "phuong-an-hai", "csrf_token": token,
                                                   "phone": "0123", "province": "Hải Phòng", "hours": ""})
    assert wrong.status_code == 400
    for problem in ("số điện thoại (phone)", "ghi cả cấp", "thiếu “giờ làm việc”"):
        assert problem in wrong.text, problem
    assert 'value="0123"' in wrong.text  # what the officer typed is kept for the fix
    no_paths(wrong.text, console)
    assert (console.wards / "phuong-an-hai.yaml").read_bytes() == before


def test_a_saved_profile_is_what_the_bot_reads_and_the_change_is_audit_logged(console, officer):
    token = officer.token("/knowledge/wards/phuong-an-hai/edit")
    saved = officer.post("/knowledge/wards/save", {**FORM, "file": "phuong-an-hai", "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["location"] == "/knowledge/wards"
    assert "Đã lưu hồ sơ phường An Hải" in officer.get("/knowledge/wards").text
    profile = read_profile(console.wards / "phuong-an-hai.yaml")
    today = datetime.now(timezone(timedelta(hours=7))).date().isoformat()
    assert profile.hours == FORM["hours"] and not profile.example and profile.updated == today
    assert profile.former_names == ("phường An Hải Bắc", "xã An Hải Tây")
    text = (console.wards / "phuong-an-hai.yaml").read_text(encoding="utf-8")
    assert "DỮ LIỆU MẪU" not in text and yaml.safe_load(text)["phone"] == "0225 3555 010"
    assert WardProfiles(console.wards).get("xã An Hải Tây").hours == FORM["hours"]  # hand-offs use it at once
    [entry] = AuditLog(console_dir(console.settings) / AUDIT_FILE).entries(action_prefix="ward.")
    assert (entry.user, entry.action, entry.target) == (USER, "ward.edit", "phường An Hải")
    assert "giờ làm việc" in entry.detail and "dữ liệu mẫu" in entry.detail and "địa chỉ" in entry.detail


def test_a_new_ward_and_a_fixed_file_are_saved_and_a_second_profile_of_a_ward_is_refused(console, officer):
    token = officer.token("/knowledge/wards/new")
    new = {**FORM, "unit": "xã", "name": "Tân Tiến", "former_names": "", "phone": "0225 3666 020", "file": ""}
    assert officer.post("/knowledge/wards/save", {**new, "csrf_token": token}).status_code == 303
    assert read_profile(console.wards / "xa-tan-tien.yaml").ward == "xã Tân Tiến"
    again = officer.post("/knowledge/wards/save", {**new, "unit": "phường", "csrf_token": token})
    assert again.status_code == 400 and "đã có hồ sơ xã Tân Tiến" in again.text  # phường or xã: one place
    fixed = officer.post("/knowledge/wards/save", {**new, "name": "Hồng Phong", "file": "xa-hong-phong",
                                                   "csrf_token": token})
    assert fixed.status_code == 303
    page = officer.get("/knowledge/wards").text
    assert "chưa dùng được" not in page and "xã Hồng Phong" in page


def test_a_viewer_reads_the_profiles_but_cannot_change_them(console):
    console.accounts.create("chi.xem.phuong", "chi-xem-mat-khau-9", "viewer")
    viewer = Client(console.url)
    assert viewer.login("chi.xem.phuong", "chi-xem-mat-khau-9").status_code == 303
    form = viewer.get("/knowledge/wards/phuong-an-hai/edit").text
    assert 'id="save-ward"' not in form and "chỉ xem" in form
    before = (console.wards / "phuong-an-hai.yaml").read_bytes()
    refused = viewer.post("/knowledge/wards/save", {**FORM, "file": "phuong-an-hai", "hours": "cả ngày",
                                                    "csrf_token": viewer.token("/knowledge/wards")})
    assert refused.status_code == 403 and "không có quyền" in refused.text
    assert (console.wards / "phuong-an-hai.yaml").read_bytes() == before
    viewer.http.close()
