"""`cchc` as other tools and officers use it: real subprocesses, settings only through CCHC_* variables."""
import json
import shutil

import pytest

from index import store

CITATION_FIELDS = {"n", "doc_id", "title", "section", "source", "text", "score"}


def assert_no_traceback(proc):
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout


def check_answer_json(obj: dict, question: str) -> None:
    assert set(obj) == {"question", "answer", "body", "sources", "options", "found", "kind", "rule", "citations",
                        "timings_ms"}
    assert obj["answer"].startswith(obj["body"]) and len(obj["body"]) <= 700  # sources kept apart for channels
    assert obj["question"] == question
    assert isinstance(obj["answer"], str) and obj["answer"]
    assert isinstance(obj["found"], bool)
    assert set(obj["timings_ms"]) == {"retrieve", "compose", "total"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in obj["timings_ms"].values())
    for c in obj["citations"]:
        assert set(c) == CITATION_FIELDS
        assert isinstance(c["n"], int) and isinstance(c["score"], (int, float))
        assert c["doc_id"] and c["title"] and c["text"]


def test_ask_json_prints_one_answer_object(run_cli, built_index, index_settings):
    question = "số tổng đài hỗ trợ dịch vụ công là gì"
    proc = run_cli("ask", "--json", question, data_dir=index_settings.data_dir)
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    obj = json.loads(lines[0])
    check_answer_json(obj, question)
    assert obj["found"] is True
    assert "1800.1096" in obj["answer"]
    assert [c["n"] for c in obj["citations"]] == list(range(1, len(obj["citations"]) + 1))
    assert obj["citations"][0]["doc_id"] == "huong-dan-tong-dai"


def test_ask_json_from_stdin_prints_one_line_per_question(run_cli, built_index, index_settings):
    questions = ["xin chào", "giá vàng hôm nay bao nhiêu", "đăng nhập cổng dịch vụ công bằng tài khoản gì"]
    proc = run_cli("ask", "--json", "-", data_dir=index_settings.data_dir, stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    lines = proc.stdout.splitlines()
    assert len(lines) == 3
    objs = [json.loads(ln) for ln in lines]
    for obj, question in zip(objs, questions):
        check_answer_json(obj, question)
    assert objs[1]["found"] is False and objs[1]["citations"] == []
    assert objs[2]["found"] is True and objs[2]["citations"]


def test_ask_prints_plain_text_answer(run_cli, built_index, index_settings):
    proc = run_cli("ask", "so tong dai ho tro dich vu cong", data_dir=index_settings.data_dir)
    assert proc.returncode == 0, proc.stderr
    assert "1800.1096" in proc.stdout
    assert "Nguồn:" in proc.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(proc.stdout)


def test_ask_builds_the_index_on_first_use(run_cli, small_knowledge, tmp_path):
    data = tmp_path / "fresh-data"
    proc = run_cli("ask", "--json", "tra cứu tình trạng hồ sơ bằng gì", data_dir=data, knowledge_dir=small_knowledge)
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    assert store.current_version(data)
    obj = json.loads(proc.stdout.strip().splitlines()[-1])
    assert obj["found"] is True
    assert obj["citations"][0]["doc_id"] == "huong-dan-nop-ho-so"


def _damaged_copy(source, target, damage):
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("cache"))
    version_dir = store.indexes_dir(target) / store.current_version(target)
    if damage == "corrupt_vectors":
        (version_dir / "vectors.faiss").write_bytes(b"\x00garbage\xff" * 64)
    else:
        manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
        manifest["model"] = "st/mot-mo-hinh-khac"
        (version_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


@pytest.mark.parametrize("damage", ["corrupt_vectors", "other_model"])
def test_unusable_index_exits_2_with_a_vietnamese_error(damage, run_cli, small_settings, embedder, tmp_path):
    from index.build import build_index

    build_index(small_settings, embedder=embedder, show_progress=False)
    data = _damaged_copy(small_settings.data_dir, tmp_path / "damaged", damage)
    proc = run_cli("ask", "--json", "tra cứu hồ sơ", data_dir=data, knowledge_dir=small_settings.knowledge_dir)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert proc.stderr.startswith("Lỗi:")
    assert "cchc index build --rebuild" in proc.stderr
    assert proc.stdout.strip() == ""


def test_index_build_then_up_to_date(run_cli, small_knowledge, tmp_path):
    data = tmp_path / "data"
    first = run_cli("index", "build", "--quiet", data_dir=data, knowledge_dir=small_knowledge)
    assert first.returncode == 0, first.stderr
    assert "2 văn bản" in first.stdout
    assert store.current_version(data)
    second = run_cli("index", "build", "--quiet", data_dir=data, knowledge_dir=small_knowledge)
    assert second.returncode == 0, second.stderr
    assert "mới nhất" in second.stdout
    assert store.current_version(data) in second.stdout


def test_index_build_reports_broken_knowledge(run_cli, small_knowledge, tmp_path):
    (small_knowledge / "plans" / "hong.md").write_text("---\ntitle: Thiếu mã\n---\nNội dung\n", encoding="utf-8")
    proc = run_cli("index", "build", "--quiet", data_dir=tmp_path / "data", knowledge_dir=small_knowledge)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert proc.stderr.startswith("Lỗi:") and "hong.md" in proc.stderr


def test_index_build_refuses_a_broken_word_list_without_a_traceback(run_cli, small_knowledge, tmp_path):
    """An officer's duplicate entry in synonyms.yaml: the build says which entry, builds nothing, publishes nothing."""
    from pathlib import Path

    words = tmp_path / "lexicon"
    shutil.copytree(Path(__file__).resolve().parents[1] / "knowledge" / "lexicon", words)
    synonyms = words / "synonyms.yaml"
    synonyms.write_text(synonyms.read_text(encoding="utf-8") + '  - {term: bưu điện, means: x, note: x, example: '
                        '"bưu điện"}\n', encoding="utf-8")
    data = tmp_path / "data"
    proc = run_cli("index", "build", "--quiet", data_dir=data, knowledge_dir=small_knowledge, lexicon_dir=words)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert "Lỗi trong danh sách từ" in proc.stderr and "synonyms.yaml" in proc.stderr
    assert not store.current_version(data)


def test_index_build_says_a_broken_procedure_list_was_left_out(run_cli, small_knowledge, tmp_path):
    """The index is built (plans answer with the other lists), and the officer who ran it is told what broke:
    silently losing every procedure name and field cue would look like a much worse assistant."""
    from pathlib import Path

    words = tmp_path / "lexicon"
    shutil.copytree(Path(__file__).resolve().parents[1] / "knowledge" / "lexicon", words)
    names = words / "procedure_names.yaml"
    names.write_text(names.read_text(encoding="utf-8").replace('example: "bằng lái hết hạn', 'example: "giấy phép',
                                                                 1), encoding="utf-8")
    data = tmp_path / "data"
    proc = run_cli("index", "build", "--quiet", data_dir=data, knowledge_dir=small_knowledge, lexicon_dir=words)
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    assert "Cảnh báo: danh sách từ có lỗi" in proc.stderr and "procedure_names.yaml" in proc.stderr
    assert store.current_version(data)


def test_knowledge_add_writes_a_plan_and_reports_missing_fields(run_cli, small_knowledge, tmp_path):
    text = ("KẾ HOẠCH\nTuyên truyền cải cách hành chính xã Tân Hòa năm 2026\n"
            "Căn cứ Kế hoạch của Ủy ban nhân dân thành phố Hải Phòng, Ủy ban nhân dân xã ban hành như sau:\n"
            "I. MỤC ĐÍCH, YÊU CẦU\n1. Mục đích\na) Nâng cao nhận thức của người dân về cải cách hành chính.\n")
    source = tmp_path / "tan-hoa.txt"
    source.write_text(text, encoding="utf-8")
    proc = run_cli("knowledge", "add", str(source), data_dir=tmp_path / "data", knowledge_dir=small_knowledge)
    assert proc.returncode == 0, proc.stderr
    assert "Đã thêm" in proc.stdout
    assert "xã Tân Hòa" in proc.stdout
    assert "Chưa đọc được" in proc.stdout and "signer" in proc.stdout
    added = list((small_knowledge / "plans").glob("*tan-hoa*.md"))
    assert len(added) == 1


def test_knowledge_add_rejects_a_bad_file_with_exit_1(run_cli, small_knowledge, tmp_path):
    bad = tmp_path / "rong.txt"
    bad.write_bytes(b"")
    proc = run_cli("knowledge", "add", str(bad), data_dir=tmp_path / "data", knowledge_dir=small_knowledge)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert "Không thêm được" in proc.stderr and "rong.txt" in proc.stderr


def test_eval_command_writes_metrics(run_cli, built_index, index_settings, tmp_path):
    questions = tmp_path / "mini.yaml"
    questions.write_text(
        "- id: m1\n  question: \"số tổng đài hỗ trợ dịch vụ công là gì\"\n  category: hotline\n"
        "  expect_found: true\n  expected_docs: [huong-dan-tong-dai]\n  expected_facts: [\"1800.1096\"]\n"
        "- id: m2\n  question: \"giá vàng hôm nay bao nhiêu\"\n  category: out_of_scope\n  expect_found: false\n",
        encoding="utf-8",
    )
    out = tmp_path / "metrics.json"
    proc = run_cli("eval", str(questions), "--json", str(out), data_dir=index_settings.data_dir)
    assert proc.returncode == 0, proc.stderr
    assert "answer_accuracy" in proc.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["metrics"]["n"] == 2
    assert report["metrics"]["hit@5"] == 1.0
    assert {r["id"] for r in report["results"]} == {"m1", "m2"}


def test_unknown_command_is_a_usage_error(run_cli, tmp_path):
    proc = run_cli("khong-co-lenh", data_dir=tmp_path / "data")
    assert proc.returncode == 2
    assert "usage" in proc.stderr.lower()
