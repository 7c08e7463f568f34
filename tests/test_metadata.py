"""Metadata proposed from the real seeds: only what the text says, nothing invented."""
import pytest

from index.clean import clean
from index.metadata import propose, ward_key


@pytest.fixture(scope="module")
def proposed(seed_text):
    cache = {}

    def get(prefix: str) -> dict:
        if prefix not in cache:
            cache[prefix] = propose(clean(seed_text(prefix)), source=f"{prefix}.txt")
        return cache[prefix]

    return get


def test_an_hai_2025_plan(proposed):
    p = proposed("000")
    v = p.values
    assert v["ward"] == "phường An Hải"
    assert v["city"] == "Hải Phòng"
    assert v["type"] == "kế hoạch"
    assert v["year"] == 2025
    assert v["period"] == "6 tháng cuối năm 2025"
    assert v["date"] == "2025-08"  # day left blank in the original
    assert "An Hải" in v["title"] and v["title"].startswith("Kế hoạch")


def test_blank_number_stays_empty(proposed, seed_text):
    assert "Số:       /KH-UBND" in seed_text("000")
    p = proposed("000")
    assert p.values["number"] is None
    assert "number" in p.missing
    assert p.values.get("number_note")


def test_hung_phu_plan(proposed):
    v = proposed("003").values
    assert v["ward"] == "phường Hưng Phú"
    assert v["city"] == "Cần Thơ"
    assert v["signer"] == "Nguyễn Thị Trúc Linh"
    assert v["number"] is None
    assert v["year"] == 2025
    assert v["issuer"] == "Ủy ban nhân dân phường Hưng Phú"


def test_an_hai_2026_plan_dated_by_its_decision(proposed):
    v = proposed("002").values
    assert v["date"] == "2026-01-26"
    assert v["ward"] == "phường An Hải"
    assert v["year"] == 2026
    assert v["attached_to"] == "Quyết định số 123/QĐ-UBND"
    assert v["number"] is None


def test_phu_thai_plan_without_header_reads_ward_from_title(proposed):
    v = proposed("001").values
    assert v["ward"] == "xã Phú Thái"
    assert v["city"] == "Hải Phòng"
    assert v["signer"] == "Phạm Tiến Nhuận"
    assert v["signer_title"] == "Phó Chủ tịch"


def test_cong_van_does_not_invent_place_or_date(proposed):
    p = proposed("004")
    v = p.values
    assert v["type"] == "công văn"
    assert v["ward"] is None
    assert v["city"] is None
    assert v["date"] is None
    assert v["number"] is None
    assert v["title"] is None  # no title printed: the officer must write one
    assert v["signer"] == "Trần Thị Thủy Nga"
    assert {"ward", "date", "title"} <= set(p.missing)


def test_source_is_recorded(proposed):
    assert proposed("002").values["source"] == "002.txt"


@pytest.mark.parametrize(
    ("ward", "key"),
    [("phường An Hải", "an hai"), ("xã Phú Thái", "phu thai"), ("phường Hưng Phú", "hung phu"), (None, None)],
)
def test_ward_key(ward, key):
    assert ward_key(ward) == key
