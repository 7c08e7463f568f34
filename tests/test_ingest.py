"""Adding a new plan: TXT → clean → proposed metadata → knowledge/plans/<id>.md an officer can review."""
import unicodedata

import frontmatter
import pytest

from index.documents import KnowledgeError, load_documents, read_document
from index.ingest import add_file, slug
from index.vietnamese import has_vietnamese_diacritics

PLAN_TXT = """\
ỦY BAN NHÂN DÂN
PHƯỜNG HÒA BÌNH
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc

Số: 12/KH-UBND
Hòa Bình, ngày 05 tháng 3 năm 2026

KẾ HOẠCH
Cải cách hành chính năm 2026

Căn cứ Quyết định số 99/QĐ-UBND ngày 10/01/2026 của Ủy ban nhân dân thành phố Đà Nẵng về cải
cách hành chính năm 2026, Ủy ban nhân dân phường ban hành Kế hoạch như sau:
I. MỤC ĐÍCH, YÊU CẦU
1. Mục đích
a) Nâng cao chất lượng phục vụ người dân khi giải quyết thủ tục hành chính tại Trung tâm
Phục vụ hành chính công phường.
2. Yêu cầu
a) Bảo đảm 100% hồ sơ được giải quyết đúng hạn.
II. TỔ CHỨC THỰC HIỆN
Phòng Văn hóa - Xã hội chủ trì theo dõi, đôn đốc việc thực hiện Kế hoạch này.
Nơi nhận:
- Như trên;
- Lưu: VT.
TM. ỦY BAN NHÂN DÂN
CHỦ TỊCH
Nguyễn Văn An
"""


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "inbox" / "ke-hoach-hoa-binh.txt"
    path.parent.mkdir()
    path.write_text(PLAN_TXT, encoding="utf-8")
    return path


def test_add_file_writes_a_reviewable_markdown_document(plan_file, tmp_path):
    knowledge = tmp_path / "knowledge"
    result = add_file(plan_file, knowledge)
    assert result.path.parent == knowledge / "plans"
    assert result.path.name == f"{result.document.id}.md"
    post = frontmatter.load(result.path)
    meta = post.metadata
    assert meta["id"] == result.document.id
    assert meta["title"] == "Kế hoạch cải cách hành chính năm 2026"
    assert meta["type"] == "kế hoạch"
    assert meta["number"] == "12/KH-UBND"
    assert str(meta["date"]) == "2026-03-05"
    assert meta["ward"] == "phường Hòa Bình"
    assert meta["city"] == "Đà Nẵng"
    assert meta["year"] == 2026
    assert meta["signer"] == "Nguyễn Văn An"
    assert meta["source"] == "ke-hoach-hoa-binh.txt"
    assert result.missing == []
    # The body is cleaned Markdown with the outline kept and broken lines rejoined.
    body = post.content
    assert body.startswith("# Kế hoạch cải cách hành chính năm 2026\n")
    assert "## I. MỤC ĐÍCH, YÊU CẦU" in body
    assert "### 1. Mục đích" in body
    assert "tại Trung tâm Phục vụ hành chính công phường." in body
    assert "Nơi nhận" not in body
    # It is a valid knowledge document.
    assert [d.id for d in load_documents(knowledge)] == [result.document.id]


def test_adding_twice_without_update_is_refused(plan_file, tmp_path):
    knowledge = tmp_path / "knowledge"
    first = add_file(plan_file, knowledge)
    before = first.path.read_text(encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        add_file(plan_file, knowledge)
    assert "--update" in str(err.value)
    assert first.path.read_text(encoding="utf-8") == before


def test_update_refreshes_the_body_but_keeps_reviewed_metadata(plan_file, tmp_path):
    knowledge = tmp_path / "knowledge"
    first = add_file(plan_file, knowledge)
    # The officer fixes the title and adds a note in the front matter.
    post = frontmatter.load(first.path)
    post.metadata["title"] = "Kế hoạch CCHC năm 2026 của phường Hòa Bình"
    post.metadata["deadline_note"] = "Báo cáo trước ngày 15 hằng quý"
    first.path.write_text(frontmatter.dumps(post, allow_unicode=True), encoding="utf-8")
    # A corrected version of the text arrives.
    plan_file.write_text(PLAN_TXT.replace("100% hồ sơ", "98% hồ sơ"), encoding="utf-8")
    add_file(plan_file, knowledge, update=True)
    doc = read_document(first.path)
    assert doc.title == "Kế hoạch CCHC năm 2026 của phường Hòa Bình"
    assert doc.extra["deadline_note"] == "Báo cáo trước ngày 15 hằng quý"
    assert doc.body.startswith(f"# {doc.title}\n")
    assert "98% hồ sơ" in doc.body and "100% hồ sơ" not in doc.body


def test_explicit_id_is_used(plan_file, tmp_path):
    result = add_file(plan_file, tmp_path / "knowledge", doc_id="kh-cchc-hoa-binh-2026")
    assert result.path.name == "kh-cchc-hoa-binh-2026.md"
    assert read_document(result.path).id == "kh-cchc-hoa-binh-2026"


@pytest.mark.parametrize("content", [b"", b"   \n\n \t\n"])
def test_empty_file_is_rejected_in_vietnamese(content, tmp_path):
    path = tmp_path / "rong.txt"
    path.write_bytes(content)
    with pytest.raises(KnowledgeError) as err:
        add_file(path, tmp_path / "knowledge")
    message = str(err.value)
    assert "rong.txt" in message and has_vietnamese_diacritics(message)
    assert not (tmp_path / "knowledge").exists()


def to_cp1258(text: str) -> bytes:
    """Text as a legacy Windows-1258 file: base vowel + shape mark precomposed, tone mark combining."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if out and ch in "\u0302\u0306\u031b":  # circumflex, breve, horn
            out[-1] = unicodedata.normalize("NFC", out[-1] + ch)
        else:
            out.append(ch)
    return "".join(out).encode("cp1258")


@pytest.mark.parametrize(
    "data",
    [to_cp1258("KẾ HOẠCH\nCải cách hành chính năm 2026 của phường Đông Hải"),
     "Plan de réforme administrative, décembre".encode("latin-1")],
    ids=["cp1258", "latin-1"],
)
def test_non_utf8_file_is_rejected_in_vietnamese(data, tmp_path):
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    path = tmp_path / "cu.txt"
    path.write_bytes(data)
    with pytest.raises(KnowledgeError) as err:
        add_file(path, tmp_path / "knowledge")
    message = str(err.value)
    assert "cu.txt" in message and "UTF-8" in message
    assert has_vietnamese_diacritics(message)
    assert not (tmp_path / "knowledge").exists()


def test_unsupported_format_is_rejected(tmp_path):
    path = tmp_path / "ke-hoach.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(KnowledgeError, match="TXT"):
        add_file(path, tmp_path / "knowledge")


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff".encode("utf-8") + PLAN_TXT.encode("utf-8"))
    result = add_file(path, tmp_path / "knowledge")
    assert result.document.number == "12/KH-UBND"
    assert "\ufeff" not in result.path.read_text(encoding="utf-8")


def test_slug_is_ascii_and_readable():
    assert slug("Kế hoạch tuyên truyền CCHC phường An Hải năm 2026") == \
        "ke-hoach-tuyen-truyen-cchc-phuong-an-hai-nam-2026"
    assert slug("!!!") == "van-ban"
