"""Word lists are data an officer edits; a broken entry is refused with a message that says what to fix."""
import pytest

from index.lexicon import LexiconError, load_lexicon


def write(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")


def test_project_lexicon_loads_and_every_entry_has_note_and_example():
    lex = load_lexicon()
    assert lex.abbreviations["cccd"] == "can cuoc cong dan"
    assert lex.abbreviations["dv"] == "dich vu"  # in chat "dv" is dịch vụ, not đơn vị
    assert "cl" not in lex.abbreviations
    for stem, entries in lex.entries.items():
        assert entries, stem
        assert all(e.note and e.example for e in entries)


def test_an_entry_without_an_example_is_refused(tmp_path):
    write(tmp_path, "abbreviations.yaml", "entries:\n  - {term: gks, means: giấy khai sinh, note: viết tắt}\n")
    with pytest.raises(LexiconError, match="abbreviations.yaml, mục 1.*example"):
        load_lexicon(tmp_path)


def test_an_example_must_show_the_term_in_use(tmp_path):
    write(tmp_path, "synonyms.yaml",
          "entries:\n  - {term: sổ hồng, means: giấy chứng nhận, note: tên dân gian, example: làm sổ đỏ ở đâu}\n")
    with pytest.raises(LexiconError, match="không chứa"):
        load_lexicon(tmp_path)


def test_duplicates_and_broken_yaml_are_refused(tmp_path):
    write(tmp_path, "abbreviations.yaml", "entries:\n"
          "  - {term: gks, means: giấy khai sinh, note: a, example: xin gks}\n"
          "  - {term: GKS, means: giấy khai sinh, note: b, example: làm gks}\n")
    with pytest.raises(LexiconError, match="trùng"):
        load_lexicon(tmp_path)
    write(tmp_path, "abbreviations.yaml", "entries: [ {term: gks\n")
    with pytest.raises(LexiconError, match="YAML"):
        load_lexicon(tmp_path)


def test_an_officers_new_abbreviation_changes_the_analyzer_version(tmp_path):
    write(tmp_path, "abbreviations.yaml", "entries:\n  - {term: gks, means: giấy khai sinh, note: a, example: xin gks}\n")
    before = load_lexicon(tmp_path).version
    write(tmp_path, "abbreviations.yaml", "entries:\n  - {term: gks, means: giấy khai sinh, note: a, example: xin gks}\n"
          "  - {term: gcn, means: giấy chứng nhận, note: b, example: cấp gcn}\n")
    assert load_lexicon(tmp_path).version != before


def test_a_comma_in_an_unquoted_one_line_note_is_refused(tmp_path):
    """`note: a, b` in a one-line entry makes "b" a key and cuts the note short without a word."""
    write(tmp_path, "synonyms.yaml", "entries:\n  - {term: báo ai, means: phản ánh, note: Hỏi nơi phản ánh, kiến nghị, "
          "example: bị làm khó thì báo ai}\n")
    with pytest.raises(LexiconError, match="khoá lạ 'kiến nghị'.*ngoặc kép"):
        load_lexicon(tmp_path)


def test_a_broken_procedure_list_is_left_out_and_the_rest_still_load(tmp_path):
    """The plans still answer with the other lists (`cchc index build` says what broke: tests/test_cli.py)."""
    import shutil
    from pathlib import Path

    from index.lexicon import load_complete

    words = tmp_path / "lexicon"
    shutil.copytree(Path(__file__).resolve().parents[1] / "knowledge" / "lexicon", words)
    names = words / "procedure_names.yaml"
    names.write_text(names.read_text(encoding="utf-8").replace('example: "bằng lái hết hạn', 'example: "giấy phép',
                                                                 1), encoding="utf-8")
    lex = load_complete(words)
    assert lex.problem and "procedure_names.yaml" in lex.problem
    assert not lex.procedure_names and lex.abbreviations["cccd"] == "can cuoc cong dan"


def test_a_broken_draft_list_falls_back_to_the_live_index_copy(tmp_path, monkeypatch, capsys):
    """A typo in knowledge/lexicon must not stop the bot: the live index version's copy (validated when it was
    published) is used, and the officer is told what to fix. With no copy, the error stands."""
    import shutil
    from pathlib import Path

    from index.lexicon import load_or_published
    from index.settings import get_settings

    project = Path(__file__).resolve().parents[1] / "knowledge" / "lexicon"
    draft, data = tmp_path / "draft", tmp_path / "data"
    shutil.copytree(project, draft)
    synonyms = draft / "synonyms.yaml"
    synonyms.write_text(synonyms.read_text(encoding="utf-8") + '  - {term: bưu điện, means: x, note: x, example: '
                        '"bưu điện"}\n', encoding="utf-8")
    monkeypatch.setenv("CCHC_LEXICON_DIR", str(draft))
    monkeypatch.setenv("CCHC_DATA_DIR", str(data))
    get_settings.cache_clear()
    try:
        with pytest.raises(LexiconError):
            load_or_published()  # nothing published yet
        shutil.copytree(project, data / "indexes" / "v1" / "lexicon")
        (data / "CURRENT").write_text("v1", encoding="utf-8")
        lex = load_or_published()
        assert lex.problem and "synonyms.yaml" in lex.problem and lex.abbreviations["cccd"] == "can cuoc cong dan"
        assert "Tạm dùng danh sách từ của chỉ mục đang chạy" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
