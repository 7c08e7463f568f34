"""Officers add a new plan from the console: upload, review the proposed metadata, publish, then ask.

Real parts throughout: the console in uvicorn on 127.0.0.1, DOCX files written with python-docx, the
ingest path of `cchc knowledge add`, the real incremental refresh (with its eval-set check) in the
console's background thread, and a LiveAssistant over a private copy of knowledge/ and of the session
index. The assistant checks for new versions only once an hour here, so an answer from the new plan
right after publishing shows that the console switched its own assistant when the publish finished.
"""
from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.console.app import create_app
from bot.console.auth import Accounts
from bot.console.uploads import UPLOAD_MAX_BYTES
from bot.live import LiveAssistant
from conftest import EVAL_FILE, KNOWLEDGE_DIR, make_settings
from index import store
from index.settings import Settings
from served import serve
from test_console_http import PASSWORD, USER, Client
from test_extract import make_docx

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NEW_QUESTION = "Phường Thanh Khê đặt máy tra cứu hồ sơ tự động ở đâu?"
NEW_FACT = "chợ Thanh Khê Đông"
STABLE_QUESTION = "Số tổng đài hỗ trợ dịch vụ công là gì?"
PUBLISH_DEADLINE = 300  # seconds: a guard against a hung thread, not a speed requirement


def thanh_khe_docx(folder: Path) -> Path:
    return make_docx(
        folder / "Kế hoạch CĐS Thanh Khê 2026.docx", "phường Thanh Khê", "17/KH-UBND", "05 tháng 3", 2026,
        "Chuyển đổi số trong giải quyết thủ tục hành chính năm 2026",
        ["# MỤC ĐÍCH", "Đưa dịch vụ công trực tuyến đến gần người dân trên địa bàn phường Thanh Khê.",
         "# NỘI DUNG", f"Phường Thanh Khê đặt máy tra cứu hồ sơ tự động tại {NEW_FACT} trong quý II năm 2026 "
                       "để người dân tự tra cứu tình trạng hồ sơ.",
         "# TỔ CHỨC THỰC HIỆN", "Văn phòng HĐND và UBND phường báo cáo kết quả trước ngày 20 tháng 12 năm 2026."])


def hai_chau_docx(folder: Path) -> Path:
    return make_docx(
        folder / "kh-hai-chau.docx", "phường Hải Châu", "08/KH-UBND", "14 tháng 1", 2026,
        "Kiểm soát thủ tục hành chính năm 2026",
        ["# MỤC ĐÍCH", "Rà soát, đơn giản hóa thủ tục hành chính thuộc thẩm quyền của phường Hải Châu.",
         "# NỘI DUNG", "Mỗi quý phường Hải Châu công khai kết quả giải quyết hồ sơ trên bảng tin tổ dân phố."])


@dataclass
class Console:
    url: str
    settings: Settings
    assistant: LiveAssistant
    app: object


@pytest.fixture(scope="module")
def console(tmp_path_factory, built_index, index_settings, embedder):
    """A console over private copies of knowledge/ and the session index (never the repo's folders)."""
    root = tmp_path_factory.mktemp("console-upload")
    knowledge = root / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, knowledge)
    data = root / "data"
    shutil.copytree(index_settings.data_dir, data, ignore=shutil.ignore_patterns("console", "store*"))
    settings = make_settings(knowledge, data)
    eval_path = root / "questions.yaml"
    shutil.copy(EVAL_FILE, eval_path)
    assistant = LiveAssistant(settings, embedder=embedder, check_seconds=3600)
    accounts = Accounts(env_user=USER, env_password=PASSWORD, file=data / "console" / "accounts.json")
    app = create_app(settings, assistant, None, eval_path, accounts)

    base, stop = serve(app)
    yield Console(base, settings, assistant, app)
    stop()


@pytest.fixture
def officer(console):
    client = Client(console.url)
    assert client.login().status_code == 303
    yield client
    client.http.close()


def knowledge_files(settings: Settings) -> dict[str, bytes]:
    return {str(p.relative_to(settings.knowledge_dir)): p.read_bytes()
            for p in sorted(Path(settings.knowledge_dir).rglob("*")) if p.is_file()}


def upload(officer: Client, name: str, content: bytes, mime: str = DOCX_MIME, **fields: str):
    token = officer.token("/knowledge/upload")
    return officer.post("/knowledge/upload", {"csrf_token": token, **fields}, files={"file": (name, content, mime)})


def publish_and_wait(officer: Client) -> str:
    """Check the changes, wait for the check as the officer would (reloading the page), then publish the checked
    version; returns what the page then says (the publish message, or why the check failed)."""
    response = officer.post("/knowledge/publish/check", {"csrf_token": officer.token("/knowledge/publish")})
    assert response.status_code == 303
    deadline = time.monotonic() + PUBLISH_DEADLINE
    while True:
        page = officer.get("/knowledge/publish").text
        if 'id="checking"' not in page:
            break
        assert time.monotonic() < deadline, "the check did not finish"
        time.sleep(1)
    version = re.search(r'name="version" value="([^"]+)"', page)
    if version is None:
        return page.split('id="pending"', 1)[1].split("</section>", 1)[0]
    done = officer.post("/knowledge/publish/confirm", {"csrf_token": officer.token("/knowledge/publish"),
                                                       "version": version.group(1)})
    assert done.status_code == 303
    return officer.get("/knowledge/publish").text.split("<main>", 1)[1]


def ask(officer: Client, question: str) -> str:
    page = officer.post("/ask", {"csrf_token": officer.token(), "question": question})
    assert page.status_code == 200
    return page.text


def answer_text(page: str) -> str:
    return page.split('<div class="answer-text">', 1)[1].split("</div>", 1)[0]


# ------------------------------------------------------------------------------------------ tests
def test_upload_without_the_csrf_token_is_refused_and_adds_nothing(officer, console, tmp_path):
    before = knowledge_files(console.settings)
    last_publish = console.app.state.publisher.started
    content = thanh_khe_docx(tmp_path).read_bytes()
    files = {"file": ("kh.docx", content, DOCX_MIME)}
    assert officer.post("/knowledge/upload", {}, files=files).status_code == 403
    wrong = officer.post("/knowledge/upload", {"csrf_token": "not-the-token"}, files=files)
    assert wrong.status_code == 403 and "Phiên làm việc không hợp lệ" in wrong.text
    publish = officer.post("/knowledge/publish/check", {})
    assert publish.status_code == 403
    assert knowledge_files(console.settings) == before
    assert console.app.state.publisher.started == last_publish  # no publish was started either


@pytest.mark.parametrize("name, content, expected", [
    ("trong.docx", b"", "tệp rỗng"),
    ("hong.docx", b"PK\x03\x04 this is not really a Word file" * 20, "bị hỏng"),
    ("gia.pdf", b"Day khong phai la PDF\n" * 20, "bị hỏng hoặc không đúng định dạng"),
    ("ban-quet.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "chưa được hỗ trợ"),
    ("ghi-chu.txt", "Ít chữ quá.".encode(), "không có nội dung chữ"),
])
def test_a_bad_file_gets_a_vietnamese_error_and_adds_nothing(officer, console, name, content, expected):
    before = knowledge_files(console.settings)
    page = upload(officer, name, content, mime="application/octet-stream")
    assert page.status_code == 400
    error = page.text.split('id="upload-error"', 1)[1].split("</div>", 1)[0]
    assert expected in error and "Không có gì được thêm vào thư mục tri thức" in error
    assert knowledge_files(console.settings) == before


def test_a_file_over_the_size_limit_is_refused(officer, console):
    before = knowledge_files(console.settings)
    page = upload(officer, "rat-lon.txt", b"a" * (UPLOAD_MAX_BYTES + 1024 * 1024), mime="text/plain")
    assert page.status_code == 413 and "Tệp quá lớn: tối đa 20 MB" in page.text
    assert knowledge_files(console.settings) == before


def test_html_in_a_file_name_and_text_is_shown_as_text(officer, console, tmp_path):
    text = ("KẾ HOẠCH\nTuyên truyền <script>alert(1)</script> cải cách hành chính năm 2026\n"
            "Phường Hòa Cường tổ chức tuyên truyền <b>cải cách hành chính</b> trên loa phát thanh tổ dân phố "
            "mỗi tháng một lần trong năm 2026, do Văn phòng HĐND và UBND phường thực hiện.\n")
    page = upload(officer, '<img src=x onerror=alert(1)>.txt', text.encode("utf-8"), mime="text/plain")
    assert page.status_code == 200, page.text[:500]
    assert "<script>alert(1)</script>" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    doc_id = page.text.split('name="doc_id" value="', 1)[1].split('"', 1)[0]
    discard = officer.post("/knowledge/upload/discard", {"csrf_token": officer.token("/knowledge/upload"),
                                                         "doc_id": doc_id})
    assert discard.status_code == 303
    assert not list(Path(console.settings.knowledge_dir).rglob(f"{doc_id}.md"))


def test_a_wrong_upload_can_be_taken_back_before_publishing(officer, console, tmp_path):
    before = knowledge_files(console.settings)
    page = upload(officer, "kh-hai-chau.docx", hai_chau_docx(tmp_path).read_bytes())
    assert page.status_code == 200 and "phường Hải Châu" in page.text
    doc_id = page.text.split('name="doc_id" value="', 1)[1].split('"', 1)[0]
    assert set(knowledge_files(console.settings)) - set(before) == {f"plans/{doc_id}.md"}
    # Only documents uploaded here and not yet published can be taken back.
    refused = officer.post("/knowledge/upload/discard", {"csrf_token": officer.token("/knowledge/upload"),
                                                         "doc_id": "kh-cchc-hung-phu-2025"})
    assert refused.status_code == 303 and "Không gỡ được" in officer.get("/knowledge/upload").text
    taken_back = officer.post("/knowledge/upload/discard", {"csrf_token": officer.token("/knowledge/upload"),
                                                            "doc_id": doc_id})
    assert taken_back.status_code == 303
    assert f"Đã gỡ văn bản &#39;{doc_id}&#39;" in officer.get("/knowledge/upload").text
    assert knowledge_files(console.settings) == before


def test_a_corrected_file_replaces_the_text_and_keeps_the_reviewed_metadata(officer, console, tmp_path):
    page = upload(officer, "kh-hai-chau.docx", hai_chau_docx(tmp_path).read_bytes())
    doc_id = page.text.split('name="doc_id" value="', 1)[1].split('"', 1)[0]
    path = Path(console.settings.knowledge_dir) / "plans" / f"{doc_id}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("signer: Lê Quốc Hùng", "signer: Nguyễn Văn Tư"),
                    encoding="utf-8")  # the officer corrected the proposal by hand
    corrected = make_docx(
        tmp_path / "sua" / "kh-hai-chau.docx", "phường Hải Châu", "08/KH-UBND", "14 tháng 1", 2026,
        "Kiểm soát thủ tục hành chính năm 2026",
        ["# MỤC ĐÍCH", "Rà soát, đơn giản hóa thủ tục hành chính thuộc thẩm quyền của phường Hải Châu.",
         "# NỘI DUNG", "Mỗi tháng phường Hải Châu công khai kết quả giải quyết hồ sơ tại nhà văn hóa khu dân cư."])
    bad_id = upload(officer, "kh-hai-chau.docx", corrected.read_bytes(), doc_id="../../etc/passwd", update="1")
    assert bad_id.status_code == 400 and "Mã văn bản chỉ gồm chữ thường không dấu" in bad_id.text
    page = upload(officer, "kh-hai-chau.docx", corrected.read_bytes(), doc_id=doc_id, update="1")
    assert page.status_code == 200, page.text[:500]
    text = path.read_text(encoding="utf-8")
    assert "nhà văn hóa khu dân cư" in text and "bảng tin tổ dân phố" not in text
    assert "signer: Nguyễn Văn Tư" in text and "Nguyễn Văn Tư" in page.text
    assert len(list(Path(console.settings.knowledge_dir).rglob("*hai-chau*"))) == 1
    officer.post("/knowledge/upload/discard", {"csrf_token": officer.token("/knowledge/upload"), "doc_id": doc_id})
    assert not path.exists()


def test_a_failed_publish_says_why_and_the_live_index_keeps_answering(officer, console):
    live = store.current_version(console.settings.data_dir)
    broken = Path(console.settings.knowledge_dir) / "plans" / "ban-nhap-hong.md"
    broken.write_text("---\nid: ban-nhap-hong\n---\n\nThiếu tiêu đề.\n", encoding="utf-8")
    try:
        result = publish_and_wait(officer)
    finally:
        broken.unlink()
    assert "Không kiểm tra được" in result and "plans/ban-nhap-hong.md" in result and "thiếu &#39;id&#39; hoặc" in result
    assert str(console.settings.knowledge_dir) not in result  # no server path on the page
    assert store.current_version(console.settings.data_dir) == live
    assert "1800.1096" in answer_text(ask(officer, STABLE_QUESTION))


def test_uploaded_docx_is_proposed_published_and_answered(officer, console, tmp_path):
    assert NEW_FACT not in answer_text(ask(officer, NEW_QUESTION))
    live = store.current_version(console.settings.data_dir)
    before = knowledge_files(console.settings)
    docx_path = thanh_khe_docx(tmp_path)

    page = upload(officer, docx_path.name, docx_path.read_bytes())
    assert page.status_code == 200, page.text[:500]
    proposal = page.text.split('id="proposal"', 1)[1].split("</section>", 1)[0]
    fields = {key: proposal.split(f'id="field-{key}"', 1)[1].split("</tr>", 1)[0]
              for key in ("title", "number", "date", "ward", "city", "period", "signer", "replaces")}
    assert "Kế hoạch chuyển đổi số trong giải quyết thủ tục hành chính năm 2026" in fields["title"]
    assert "17/KH-UBND" in fields["number"] and "05/03/2026" in fields["date"]
    assert "phường Thanh Khê" in fields["ward"] and "Đà Nẵng" in fields["city"]
    assert "Lê Quốc Hùng" in fields["signer"] and "năm 2026" in fields["period"]
    assert "không thay thế văn bản nào" in fields["replaces"]
    added = set(knowledge_files(console.settings)) - set(before)
    assert len(added) == 1 and next(iter(added)).startswith("plans/")
    written = (Path(console.settings.knowledge_dir) / next(iter(added))).read_text(encoding="utf-8")
    assert "number: 17/KH-UBND" in written and f"source: {docx_path.name}" in written and NEW_FACT in written
    assert store.current_version(console.settings.data_dir) == live  # nothing published yet

    again = upload(officer, "ban-sao.docx", docx_path.read_bytes())
    assert again.status_code == 400 and "trùng nội dung với văn bản đã có" in again.text
    assert "Đây là bản sửa…" in again.text  # the CLI's `--update` advice, said for this page
    assert set(knowledge_files(console.settings)) - set(before) == added

    result = publish_and_wait(officer)
    assert "Đã xuất bản phiên bản mới: thêm 1 văn bản (Kế hoạch chuyển đổi số" in result, result
    assert "Trả lời đúng:" in result  # the eval set was answered on both versions before the switch
    assert store.current_version(console.settings.data_dir) != live
    assert console.assistant.version == store.current_version(console.settings.data_dir)

    page = ask(officer, NEW_QUESTION)
    assert NEW_FACT in answer_text(page)
    assert "chuyển đổi số trong giải quyết thủ tục hành chính" in page.split('id="citations"', 1)[1]
    assert "1800.1096" in answer_text(ask(officer, STABLE_QUESTION))
    knowledge = officer.get("/knowledge").text
    row = knowledge.split("Kế hoạch chuyển đổi số trong giải quyết thủ tục hành chính", 1)[1].split("</tr>", 1)[0]
    assert "đang phục vụ" in row
