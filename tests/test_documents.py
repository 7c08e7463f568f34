"""Knowledge documents on disk: the committed knowledge/ folder, and what officers may get wrong."""
import datetime
from pathlib import Path

import pytest

from index.clean import clean
from index.documents import KnowledgeError, document_hash, load_documents, read_document, write_document
from index.types import Document
from index.vietnamese import has_vietnamese_diacritics

KNOWLEDGE_DIR = Path(__file__).resolve().parents[1] / "knowledge"


@pytest.fixture(scope="module")
def committed():
    return load_documents(KNOWLEDGE_DIR)


def test_committed_knowledge_loads_with_unique_ids(committed):
    files = [p for p in KNOWLEDGE_DIR.rglob("*.md") if p.name.lower() != "readme.md"]
    profiles = list((KNOWLEDGE_DIR / "wards").glob("*.yaml"))  # one document per ward profile
    assert len(committed) == len(files) + len(profiles) and len(files) >= 5 and profiles
    ids = [d.id for d in committed]
    assert len(ids) == len(set(ids))
    for d in committed:
        assert d.title.strip()
        assert d.body.startswith(f"# {d.title}\n"), f"{d.id}: body should open with its title"


def test_committed_plans_name_their_place_and_year(committed):
    for d in committed:
        if d.type == "kế hoạch":
            assert d.ward, d.id
            assert d.city, d.id
            assert d.year, d.id


def test_file_name_matches_id(committed):
    names = {p.stem for p in KNOWLEDGE_DIR.rglob("*.md")} | {f"thong-tin-{p.stem}" for p in KNOWLEDGE_DIR.glob("wards/*.yaml")}
    assert {d.id for d in committed} <= names


def _seeded(committed):
    return [d for d in committed if d.source and d.source.endswith(".txt")]


def test_plans_record_the_seed_they_come_from(committed, seeds_dir):
    seeded = _seeded(committed)
    assert len(seeded) >= 5
    for d in seeded:
        assert (seeds_dir / d.source).is_file(), f"{d.id}: source {d.source} not in {seeds_dir}"


def test_recleaning_each_seed_reproduces_the_committed_body(committed, seeds_dir):
    """The plan bodies are the output of index.clean, not hand edits."""
    for d in _seeded(committed):
        raw = (seeds_dir / d.source).read_text(encoding="utf-8")
        first_line, _, rest = d.body.partition("\n")
        assert first_line.startswith("# ")
        assert rest.strip() == clean(raw).body.strip(), f"{d.id}: body differs from clean({d.source})"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_keeps_metadata_and_extra_fields(tmp_path):
    doc = Document(
        id="kh-thu", title="Kế hoạch thử", body="# Kế hoạch thử\n\nNội dung kế hoạch.", type="kế hoạch",
        number="7/KH-UBND", date="2026-03-01", ward="phường Tân An", city="Cần Thơ", year=2026,
        signer="Lê Văn Bình", scope="ward",
        extra={"signer_title": "Chủ tịch", "last_reviewed": datetime.date(2026, 3, 2)},
    )
    path = tmp_path / "plans" / "kh-thu.md"
    write_document(doc, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\nid: kh-thu\n")
    assert "phường Tân An" in text  # readable Vietnamese, not \\u escapes
    back = read_document(path)
    assert back.metadata() == doc.metadata()
    assert back.body == doc.body


def test_missing_id_or_title_is_reported_with_the_file(tmp_path):
    path = _write(tmp_path / "k" / "x.md", "---\ntitle: Không có mã\n---\n# Không có mã\n\nNội dung.\n")
    with pytest.raises(KnowledgeError) as err:
        load_documents(tmp_path / "k")
    assert "x.md" in str(err.value) and "id" in str(err.value)
    assert has_vietnamese_diacritics(str(err.value))


def test_broken_front_matter_is_reported(tmp_path):
    _write(tmp_path / "k" / "bad.md", "---\nid: a\ntitle: [không đóng\n---\nNội dung\n")
    with pytest.raises(KnowledgeError) as err:
        load_documents(tmp_path / "k")
    assert "bad.md" in str(err.value)


def test_empty_body_is_rejected(tmp_path):
    _write(tmp_path / "k" / "rong.md", "---\nid: rong\ntitle: Rỗng\n---\n\n")
    with pytest.raises(KnowledgeError, match="rỗng"):
        load_documents(tmp_path / "k")


def test_duplicate_ids_are_rejected(tmp_path):
    for name in ("a.md", "b.md"):
        _write(tmp_path / "k" / name, "---\nid: trung\ntitle: Trùng mã\n---\n# Trùng mã\n\nNội dung.\n")
    with pytest.raises(KnowledgeError, match="trung"):
        load_documents(tmp_path / "k")


def test_missing_or_empty_folder_is_reported(tmp_path):
    with pytest.raises(KnowledgeError, match="CCHC_KNOWLEDGE_DIR"):
        load_documents(tmp_path / "khong-co")
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeError):
        load_documents(tmp_path / "empty")


def test_readme_is_not_a_document(tmp_path):
    _write(tmp_path / "k" / "README.md", "# Hướng dẫn cho cán bộ\n")
    _write(tmp_path / "k" / "a.md", "---\nid: a\ntitle: A\n---\n# A\n\nNội dung.\n")
    assert [d.id for d in load_documents(tmp_path / "k")] == ["a"]


def test_document_hash_follows_content_and_metadata(committed):
    doc = committed[0]
    same = Document(**{**doc.__dict__})
    assert document_hash(same) == document_hash(doc)
    assert document_hash(Document(**{**doc.__dict__, "body": doc.body + " Thêm."})) != document_hash(doc)
    assert document_hash(Document(**{**doc.__dict__, "ward": "phường Khác"})) != document_hash(doc)


def test_scope_is_inferred_from_the_issuer_when_front_matter_omits_it(tmp_path):
    """Old plans carry no `scope`: a ward's, a province's and national guidance are told apart by issuer and type."""
    cases = {"phuong.md": ("Ủy ban nhân dân phường Tân An", "kế hoạch", "ward"),
             "tinh.md": ("Ủy ban nhân dân tỉnh Quảng Trị", "báo cáo", "province"),
             "hd.md": ("Nhóm Trợ lý CCHC (biên soạn)", "hướng dẫn", "national")}
    for name, (issuer, kind, scope) in cases.items():
        path = _write(tmp_path / name, f"---\nid: {name[:-3]}\ntitle: Văn bản\ntype: {kind}\nissuer: {issuer}\n---\nNội dung.\n")
        assert read_document(path).scope == scope, name
