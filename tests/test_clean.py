"""Cleaning the real seed texts (PDF/DOCX extractions) into Markdown that keeps the outline."""
import re
import unicodedata

import pytest

from index.clean import clean
from index.vietnamese import nfc

SEEDS = ["000", "001", "002", "003", "004"]


@pytest.fixture(scope="module")
def cleaned(seed_text):
    cache = {}

    def get(prefix: str):
        if prefix not in cache:
            cache[prefix] = clean(seed_text(prefix))
        return cache[prefix]

    return get


def raw_lines(raw: str) -> list[str]:
    return [ln.strip() for ln in nfc(raw).splitlines() if ln.strip()]


def paragraphs(body: str) -> list[str]:
    return [p for p in body.split("\n\n") if p.strip()]


@pytest.mark.parametrize("seed", SEEDS)
def test_output_is_nfc(seed, cleaned):
    c = cleaned(seed)
    for text in [c.body, *c.header, *c.title_lines, *c.signature]:
        assert unicodedata.is_normalized("NFC", text)


def test_decomposed_seed_is_recomposed(seed_text, cleaned):
    raw = seed_text("003")
    assert not unicodedata.is_normalized("NFC", raw), "seed 003 is expected to contain decomposed (NFD) text"
    body = cleaned("003").body
    assert "phường Hưng Phú" in body
    assert "cải cách hành chính" in body


@pytest.mark.parametrize("seed", SEEDS)
def test_no_bookmark_markers_left(seed, cleaned):
    assert "[bookmark:" not in cleaned(seed).body


def test_bookmark_marker_removed_without_losing_its_line(seed_text, cleaned):
    assert "[bookmark:" in seed_text("002")
    body = cleaned("002").body
    assert any(p.startswith("d) Tổ chức hoạt động tuyên truyền cổ động trực quan") for p in paragraphs(body))


def test_extraction_fragment_is_dropped(seed_text, cleaned):
    assert "Vậy l à" in seed_text("003")
    c = cleaned("003")
    everything = "\n".join([*c.header, *c.title_lines, *c.notes, c.body, *c.signature])
    assert "Vậy l à" not in everything
    assert not re.search(r"\bl à\b", everything)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_lone_page_number_lines(seed, cleaned):
    body = cleaned(seed).body
    assert not [ln for ln in body.splitlines() if re.fullmatch(r"\s*\d{1,3}\s*", ln)]


@pytest.mark.parametrize(
    ("seed", "page", "before", "after"),
    [
        ("000", "5", "người dân trên địa bàn phường.", "e) Đưa nội dung thông tin, tuyên truyền"),
        ("001", "2", "đang được áp dụng có hiệu quả.", "đ) Tham gia, tổ chức các hội thi"),
    ],
)
def test_page_numbers_do_not_leak_into_paragraphs(seed, page, before, after, seed_text, cleaned):
    lines = raw_lines(seed_text(seed))
    assert page in lines, f"seed {seed} should have a page-number line {page!r}"
    ps = paragraphs(cleaned(seed).body)
    at = next((i for i, p in enumerate(ps) if p.startswith(after)), None)
    assert at is not None, f"a paragraph should start with {after!r}"
    assert ps[at - 1].endswith(before)
    assert not any(f" {page} {after}" in p or p.endswith(f"{before} {page}") for p in ps)


@pytest.mark.parametrize("seed", SEEDS)
def test_hyphen_line_breaks_are_joined(seed, seed_text, cleaned):
    """'533/QĐ-' + 'UBND' on the next line must read '533/QĐ-UBND' in the body."""
    lines = raw_lines(seed_text(seed))
    body = cleaned(seed).body
    joins = [
        re.search(r"(\S+-)$", a).group(1) + b.split()[0]
        for a, b in zip(lines, lines[1:])
        if re.search(r"\S-$", a)
    ]
    for joined in joins:
        assert joined in body


def test_decision_number_broken_across_lines_survives(seed_text, cleaned):
    raw = seed_text("001")
    assert re.search(r"533/QĐ-\s*\n\s*UBND", nfc(raw))
    body = cleaned("001").body
    assert "533/QĐ-UBND" in body
    assert "533/QĐ- UBND" not in body


@pytest.mark.parametrize(
    ("seed", "sentence"),
    [
        ("000", "Căn cứ Quyết định số 407/KH-UBND ngày 31 tháng 7 năm 2025 của UBND phường Ban hành Kế hoạch"),
        ("000", "áp dụng tiêu chuẩn TCVN ISO 18091:2020 tại một số địa phương cấp huyện, cấp xã trên địa bàn thành phố."),
        ("001", "Ủy ban nhân dân xã xây dựng kế hoạch tuyên truyền cải cách hành chính nhà nước trên địa bàn xã Phú Thái"),
    ],
)
def test_sentence_broken_across_lines_is_rejoined(seed, sentence, seed_text, cleaned):
    lines = raw_lines(seed_text(seed))
    assert not any(sentence in ln for ln in lines), "the sentence must span several lines in the raw seed"
    squashed = " ".join(" ".join(lines).split())
    assert sentence in squashed, "the sentence must be in the raw seed"
    assert any(sentence in p for p in paragraphs(cleaned(seed).body))


@pytest.mark.parametrize("seed", ["000", "001", "002", "003"])
def test_outline_headings_exist(seed, cleaned):
    body = cleaned(seed).body
    headings = [ln for ln in body.splitlines() if ln.startswith("#")]
    assert "## I. MỤC ĐÍCH, YÊU CẦU" in headings
    assert any(re.match(r"^### \d\. \S", h) for h in headings)
    assert any(re.match(r"^## II\. ", h) for h in headings)


@pytest.mark.parametrize("seed", ["000", "001", "002", "003"])
def test_headings_are_short_titles_not_paragraphs(seed, cleaned):
    for ln in cleaned(seed).body.splitlines():
        if ln.startswith("#"):
            assert len(ln) <= 160, ln
            assert not ln.rstrip().endswith((";", ".")), ln


def test_list_items_become_their_own_paragraphs(cleaned):
    ps = paragraphs(cleaned("002").body)
    items = [p for p in ps if re.match(r"^[a-zđ]\) ", p)]
    assert len(items) >= 10
    assert all(not re.search(r"\s[b-h]\) [A-ZĐ]", p) for p in items)


def test_footnote_becomes_a_note(seed_text, cleaned):
    raw = nfc(seed_text("003"))
    assert "quy định1;" in raw and re.search(r"^1 Thông tư số 01/2023/TT-VPCP", raw, re.M)
    body = cleaned("003").body
    notes = [p for p in paragraphs(body) if p.startswith("(Chú thích 1: ")]
    assert len(notes) == 1
    assert "Thông tư số 01/2023/TT-VPCP" in notes[0]
    assert "trên môi trường điện tử" in notes[0]
    assert "quy định1" not in body
    assert "(chú thích 1)" in body


def test_heading_after_footnote_stays_a_heading(cleaned):
    body = cleaned("003").body
    assert "### 4. Phòng Kinh tế, Hạ tầng và đô thị phường" in body.splitlines()


def test_appendix_table_becomes_one_paragraph_per_task(seed_text, cleaned):
    assert "PHỤ LỤC" in seed_text("001")
    body = cleaned("001").body
    assert re.search(r"^## PHỤ LỤC", body, re.M)
    tasks = [p for p in paragraphs(body) if re.match(r"^Nhiệm vụ \d+: ", p)]
    assert [int(re.match(r"^Nhiệm vụ (\d+):", t).group(1)) for t in tasks] == [1, 2, 3, 4]
    assert tasks[0].startswith("Nhiệm vụ 1: Tuyên truyền trên Cổng thông tin điện tử xã")
    appendix = body[body.index("## PHỤ LỤC"):]
    assert all(t in appendix for t in tasks)


def test_signature_block_is_kept_out_of_the_body(cleaned):
    c = cleaned("001")
    assert "Nơi nhận:" not in c.body
    assert "Phạm Tiến Nhuận" in c.signature


def test_cong_van_without_title_still_has_a_body(cleaned):
    c = cleaned("004")
    assert c.doc_type is None
    assert c.body.startswith("Kính gửi")
    assert "1824/QĐ-UBND" in c.body


def test_clean_is_deterministic(seed_text):
    raw = seed_text("002")
    assert clean(raw).body == clean(raw).body


def test_long_outline_heading_on_its_own_line_stays_a_heading(seed_text, cleaned):
    heading = "5. Các cơ quan được tổ chức theo ngành dọc đóng trên địa bàn phường"
    assert heading in raw_lines(seed_text("003"))
    body = cleaned("003").body
    assert f"### {heading}" in body.splitlines()
    assert any(p.startswith("Căn cứ vào Kế hoạch này và hướng dẫn của Bộ") for p in paragraphs(body))
