"""Index build and storage on a small real knowledge folder: manifest, incremental rebuilds, damage."""
import json
import shutil

import pytest

from index import store
from index.build import build_index
from index.chunk import chunk_document
from index.documents import load_documents, read_document, write_document
from index.search import Searcher


def build(settings, embedder, **kwargs):
    return build_index(settings, embedder=embedder, show_progress=False, **kwargs)


def doc_path(knowledge, doc_id):
    return next(knowledge.rglob(f"{doc_id}.md"))


def test_manifest_records_model_params_and_document_hashes(small_settings, embedder):
    from index.documents import document_hash

    report = build(small_settings, embedder)
    assert not report.up_to_date
    assert report.documents == 2
    assert report.embedded_now == report.chunks > 2
    assert store.current_version(small_settings.data_dir) == report.version

    index = store.load(small_settings.data_dir, embedder.model_id)
    m = index.manifest
    assert m.format == store.FORMAT_VERSION
    assert m.model == embedder.model_id
    assert m.dim == embedder.dim == 384
    assert (m.chunk_size, m.chunk_overlap) == (small_settings.chunk_size, small_settings.chunk_overlap)
    docs = load_documents(small_settings.knowledge_dir)
    assert m.documents == {d.id: document_hash(d) for d in docs}
    assert m.chunk_count == len(index.chunks) == index.vectors.ntotal == report.chunks
    # The manifest on disk is plain JSON an officer can read.
    on_disk = json.loads((index.path / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["model"] == embedder.model_id and on_disk["dim"] == 384


def test_second_build_is_up_to_date(small_settings, embedder):
    first = build(small_settings, embedder)
    second = build(small_settings, embedder)
    assert second.up_to_date
    assert second.version == first.version
    assert second.embedded_now == 0


def test_editing_one_document_reembeds_only_its_chunks(small_settings, embedder):
    build(small_settings, embedder)
    path = doc_path(small_settings.knowledge_dir, "kh-cchc-tan-an-2026")
    doc = read_document(path)
    doc.title = "Kế hoạch CCHC năm 2026 của phường Tân An (sửa)"  # in every chunk header of this doc
    doc.body = doc.body.replace("# Kế hoạch cải cách hành chính năm 2026 của phường Tân An", f"# {doc.title}", 1)
    write_document(doc, path)

    report = build(small_settings, embedder)
    assert not report.up_to_date
    edited_chunks = chunk_document(read_document(path), small_settings.chunk_size, small_settings.chunk_overlap)
    assert report.embedded_now == len(edited_chunks)
    assert report.embedded_now < report.chunks

    index = store.load(small_settings.data_dir, embedder.model_id)
    assert {c.title for c in index.chunks if c.doc_id == "kh-cchc-tan-an-2026"} == {doc.title}


def test_editing_one_paragraph_reembeds_only_changed_passages(small_settings, embedder):
    before = {c.text for d in load_documents(small_settings.knowledge_dir)
              for c in chunk_document(d, small_settings.chunk_size, small_settings.chunk_overlap)}
    build(small_settings, embedder)
    path = doc_path(small_settings.knowledge_dir, "huong-dan-nop-ho-so")
    doc = read_document(path)
    doc.body = doc.body.replace("dùng mã hồ sơ", "dùng mã hồ sơ ghi trên giấy tiếp nhận")
    write_document(doc, path)
    after = {c.text for d in load_documents(small_settings.knowledge_dir)
             for c in chunk_document(d, small_settings.chunk_size, small_settings.chunk_overlap)}

    report = build(small_settings, embedder)
    assert report.embedded_now == len(after - before) == 1


def test_new_text_is_searchable_after_rebuild(small_settings, embedder):
    build(small_settings, embedder)
    path = doc_path(small_settings.knowledge_dir, "huong-dan-nop-ho-so")
    doc = read_document(path)
    doc.body += "\n\n## Nhận kết quả qua bưu chính\n\nNgười dân có thể đăng ký nhận kết quả qua dịch vụ bưu chính công ích."
    write_document(doc, path)
    build(small_settings, embedder)
    searcher = Searcher(store.load(small_settings.data_dir, embedder.model_id), embedder, 0.15)
    top = searcher.search("nhận kết quả qua bưu chính", k=1)[0]
    assert top.chunk.section == "Nhận kết quả qua bưu chính"


def test_rebuild_starts_from_scratch(small_settings, embedder):
    first = build(small_settings, embedder)
    again = build(small_settings, embedder, rebuild=True)
    assert not again.up_to_date
    assert again.version != first.version
    assert again.embedded_now == again.chunks


def test_changing_chunk_params_rebuilds(small_settings, embedder):
    first = build(small_settings, embedder)
    smaller = small_settings.model_copy(update={"chunk_size": 80, "chunk_overlap": 10})
    report = build(smaller, embedder)
    assert not report.up_to_date
    assert report.chunks > first.chunks
    m = store.load(small_settings.data_dir, embedder.model_id).manifest
    assert (m.chunk_size, m.chunk_overlap) == (80, 10)


def test_old_versions_are_pruned(small_settings, embedder):
    path = doc_path(small_settings.knowledge_dir, "huong-dan-nop-ho-so")
    versions = []
    for i in range(store.KEEP_VERSIONS + 2):
        doc = read_document(path)
        doc.body += f"\n\nGhi chú cập nhật lần {i + 1} về cách tra cứu hồ sơ trực tuyến."
        write_document(doc, path)
        versions.append(build(small_settings, embedder).version)
    kept = sorted(p.name for p in store.indexes_dir(small_settings.data_dir).iterdir())
    assert len(kept) == store.KEEP_VERSIONS
    assert kept == sorted(versions)[-store.KEEP_VERSIONS:]
    assert store.current_version(small_settings.data_dir) == versions[-1]


def test_missing_index_raises_index_missing(tmp_path, embedder):
    with pytest.raises(store.IndexMissing) as err:
        store.load(tmp_path / "empty", embedder.model_id)
    assert "cchc index build" in str(err.value)


def test_other_model_raises_index_incompatible(small_settings, embedder):
    build(small_settings, embedder)
    with pytest.raises(store.IndexIncompatible) as err:
        store.load(small_settings.data_dir, "st/another-model")
    assert "cchc index build --rebuild" in str(err.value)


@pytest.mark.parametrize(
    "damage",
    ["garbage_vectors", "empty_vectors", "missing_chunk", "bad_manifest", "old_format", "missing_keyword"],
)
def test_damaged_index_raises_index_incompatible(damage, small_settings, embedder, tmp_path):
    build(small_settings, embedder)
    copy = tmp_path / "copy"
    shutil.copytree(small_settings.data_dir, copy)
    version_dir = store.indexes_dir(copy) / store.current_version(copy)
    if damage == "garbage_vectors":
        (version_dir / "vectors.faiss").write_bytes(b"\x00not a faiss index\xff" * 10)
    elif damage == "empty_vectors":
        (version_dir / "vectors.faiss").write_bytes(b"")
    elif damage == "missing_chunk":
        lines = (version_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
        (version_dir / "chunks.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    elif damage == "bad_manifest":
        (version_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "old_format":
        data = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
        data["format"] = store.FORMAT_VERSION - 1
        (version_dir / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    elif damage == "missing_keyword":
        shutil.rmtree(version_dir / "keyword")
    with pytest.raises(store.IndexIncompatible) as err:
        store.load(copy, embedder.model_id)
    assert "cchc index build --rebuild" in str(err.value)
    # The original was not touched.
    assert store.load(small_settings.data_dir, embedder.model_id).vectors.ntotal > 0


def test_build_recovers_from_an_unreadable_live_index(small_settings, embedder):
    first = build(small_settings, embedder)
    manifest = store.indexes_dir(small_settings.data_dir) / first.version / "manifest.json"
    manifest.write_text("{broken", encoding="utf-8")
    report = build(small_settings, embedder)
    assert not report.up_to_date
    assert report.embedded_now == 0  # vectors come from the cache
    assert store.load(small_settings.data_dir, embedder.model_id).manifest.chunk_count == report.chunks


def test_a_failed_build_leaves_the_live_index_serving(small_settings, embedder):
    first = build(small_settings, embedder)
    path = doc_path(small_settings.knowledge_dir, "huong-dan-nop-ho-so")
    path.write_text("---\nid: huong-dan-nop-ho-so\n---\nthiếu tiêu đề\n", encoding="utf-8")
    from index.documents import KnowledgeError

    with pytest.raises(KnowledgeError):
        build(small_settings, embedder)
    assert store.current_version(small_settings.data_dir) == first.version
    assert store.load(small_settings.data_dir, embedder.model_id).manifest.chunk_count == first.chunks
