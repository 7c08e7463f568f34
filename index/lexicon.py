"""Word lists as data: abbreviations, citizen phrases, stopwords, colloquial procedure names.

Officers edit `knowledge/lexicon/*.yaml` (console or text editor); every entry carries a note (why it
exists) and an example (a message a citizen would send). Files are validated when loaded: a broken
entry is refused with the file, the entry and what to fix, so a typo can never silently change answers.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_LEXICON = Path(__file__).resolve().parent.parent / "knowledge" / "lexicon"
# Files with term → means entries (the procedure files belong to the answer core).
TERM_FILES = ("abbreviations", "synonyms", "procedure_names", "name_compounds", "restricted_audiences")
SNAPSHOT_DIR = "lexicon"  # in an index version's folder: the word lists that version was built and answers with


class LexiconError(ValueError):
    """A lexicon file cannot be used; the message names the file, the entry and the fix."""


GAP = "xgapx"  # a folded cue's gap marker (written "…" in strict_cues.yaml)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", str(text).lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").replace("đ", "d")
    return " ".join(re.findall(r"[0-9a-z]+", text))


@dataclass(frozen=True)
class Entry:
    term: str  # as written by the officer
    means: str
    note: str
    example: str

    @property
    def folded(self) -> str:
        return _fold(self.term)

    @property
    def folded_means(self) -> str:
        return _fold(self.means)


@dataclass
class Lexicon:
    abbreviations: dict[str, str] = field(default_factory=dict)  # folded token -> folded expansion
    synonyms: list[tuple[str, str]] = field(default_factory=list)  # folded phrase -> folded replacement
    stopwords: frozenset[str] = frozenset()
    stopword_spellings: dict[str, set[str]] = field(default_factory=dict)  # "tai" -> {"tại"}: "tài" is not one
    connectors: frozenset[str] = frozenset()  # "thi": a connector, not counted when measuring coverage …
    connector_pairs: frozenset[str] = frozenset()  # … unless in one of these pairs ("do thi", "cuoc thi")
    procedure_names: list[Entry] = field(default_factory=list)
    name_compounds: list[Entry] = field(default_factory=list)  # phrases of procedure names that match only whole
    restricted_audiences: list[Entry] = field(default_factory=list)  # groups some procedures serve, unnamed in names
    procedure_fields: dict[str, list[str]] = field(default_factory=dict)  # field -> folded cue phrases
    strict_cues: dict[str, list[str]] = field(default_factory=dict)  # group -> folded cue phrases
    entries: dict[str, list[Entry]] = field(default_factory=dict)  # file stem -> entries, for the console
    directory: Path | None = None  # where it was read from (an index version's copy, or knowledge/lexicon)
    problem: str | None = None  # a broken entry of the draft lists: why they were left out or replaced by the published copy

    @property
    def version(self) -> str:
        """Changes whenever the analyzer's vocabulary changes: indexes built with another one are rebuilt."""
        payload = repr((sorted(self.abbreviations.items()), sorted(self.stopwords)))
        return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:10]


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path.name}: không đọc được tệp ({exc}). Hãy sửa lỗi cú pháp YAML.") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path.name}: tệp phải là một bảng có khoá 'entries'.")
    return data


def _entries(path: Path, data: dict) -> list[Entry]:
    rows = data.get("entries") or []
    if not isinstance(rows, list):
        raise LexiconError(f"{path.name}: 'entries' phải là một danh sách.")
    out: list[Entry] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, 1):
        where = f"{path.name}, mục {i}"
        if not isinstance(row, dict):
            raise LexiconError(f"{where}: mỗi mục phải có term, means, note, example.")
        missing = [k for k in ("term", "means", "note", "example") if not str(row.get(k) or "").strip()]
        if missing:
            raise LexiconError(f"{where} ('{row.get('term', '')}'): thiếu {', '.join(missing)}.")
        extra = [str(k) for k in row if k not in ("term", "means", "note", "example")]
        if extra:  # `note: a, b` in a one-line entry makes "b" a key: the note is silently cut
            raise LexiconError(f"{where} ('{row.get('term', '')}'): có khoá lạ '{', '.join(extra)}'. Nếu ghi chú hay "
                               "ví dụ có dấu phẩy hoặc dấu hai chấm, hãy đặt cả câu trong ngoặc kép.")
        entry = Entry(*(str(row[k]).strip() for k in ("term", "means", "note", "example")))
        if not entry.folded:
            raise LexiconError(f"{where}: 'term' không có chữ nào.")
        if f" {entry.folded} " not in f" {_fold(entry.example)} ":
            raise LexiconError(f"{where}: ví dụ '{entry.example}' không chứa '{entry.term}'. Hãy sửa ví dụ.")
        if entry.folded in seen:
            raise LexiconError(f"{where}: '{entry.term}' trùng với mục {seen[entry.folded]}.")
        seen[entry.folded] = i
        out.append(entry)
    return out


def _field_cues(path: Path, data: dict) -> dict[str, list[str]]:
    cues: dict[str, list[str]] = {}
    for i, row in enumerate(data.get("entries") or [], 1):
        if not isinstance(row, dict) or not row.get("field") or not row.get("cues"):
            raise LexiconError(f"{path.name}, mục {i}: cần 'field' và danh sách 'cues'.")
        if not str(row.get("note") or "").strip() or not str(row.get("example") or "").strip():
            raise LexiconError(f"{path.name}, mục {i} ({row['field']}): thiếu note hoặc example.")
        cues.setdefault(str(row["field"]), []).extend(_fold(c) for c in row["cues"] if _fold(c))
    return cues


ANALYZER_FILES = ("abbreviations", "synonyms")


def load_lexicon(directory: Path | None = None, files: tuple[str, ...] = TERM_FILES) -> Lexicon:
    """Read and validate the lexicon files of a folder (missing files are simply empty).

    The index's analyzer reads only abbreviations, synonyms and stopwords; the answer core adds the
    procedure names and field cues.
    """
    directory = Path(directory or os.environ.get("CCHC_LEXICON_DIR") or PROJECT_LEXICON)
    lex = Lexicon(directory=directory)
    for stem in files:
        path = directory / f"{stem}.yaml"
        if path.exists():
            lex.entries[stem] = _entries(path, _read(path))
    for e in lex.entries.get("abbreviations", []):
        if " " in e.folded:
            raise LexiconError(f"abbreviations.yaml: '{e.term}' phải là một chữ (không có khoảng trắng).")
        lex.abbreviations[e.folded] = e.folded_means
    lex.synonyms = [(e.folded, e.folded_means) for e in lex.entries.get("synonyms", [])]
    lex.procedure_names = list(lex.entries.get("procedure_names", []))
    lex.name_compounds = list(lex.entries.get("name_compounds", []))
    lex.restricted_audiences = list(lex.entries.get("restricted_audiences", []))
    stop_path = directory / "stopwords.yaml"
    if stop_path.exists():
        data = _read(stop_path)
        words = data.get("words") or []
        lex.stopwords = frozenset(_fold(w) for w in words if _fold(w))
        spelled = data.get("spelled") or {}
        if spelled and (not isinstance(spelled, dict) or not spelled.get("note") or not spelled.get("example")):
            raise LexiconError("stopwords.yaml, spelled: cần words, note và example.")
        for w in spelled.get("words") or []:
            written = unicodedata.normalize("NFC", str(w).strip().lower())
            if _fold(written) in lex.stopwords:
                lex.stopword_spellings.setdefault(_fold(written), set()).add(written)
        connectors = data.get("connectors") or {}
        if connectors and (not isinstance(connectors, dict) or not connectors.get("note") or not connectors.get("example")):
            raise LexiconError("stopwords.yaml, connectors: cần words, except_pairs, note và example.")
        lex.connectors = frozenset(_fold(w) for w in connectors.get("words") or [] if _fold(w))
        lex.connector_pairs = frozenset(_fold(p) for p in connectors.get("except_pairs") or [] if _fold(p))
    fields_path = directory / "procedure_fields.yaml"
    if fields_path.exists() and "procedure_names" in files:
        lex.procedure_fields = _field_cues(fields_path, _read(fields_path))
    strict_path = directory / "strict_cues.yaml"
    if strict_path.exists():
        for name, group in (_read(strict_path).get("groups") or {}).items():
            if not isinstance(group, dict) or not group.get("cues") or not group.get("note") or not group.get("example"):
                raise LexiconError(f"strict_cues.yaml, nhóm {name}: cần cues, note và example.")
            # "bao lâu … phải": "…" (or "...") stands for up to a few words the citizen puts in between
            cues = [_fold(str(c).replace("…", f" {GAP} ").replace("...", f" {GAP} ")) for c in group["cues"]]
            lex.strict_cues[str(name)] = [c for c in cues if c.replace(GAP, "").strip()]
    return lex


# -- the lexicon of a published index version -------------------------------------------------------
# Officers edit knowledge/lexicon (the draft, like knowledge/*.md); a refresh copies it into the new index
# version, and an assistant answers with its version's copy. So an edit takes effect only when a checked
# version is published, and a rollback brings the old word lists back with the old index. The answer
# core reads the lists through `active()`: the assistant answering sets its version's lexicon for the
# duration of one answer (a context variable, so other threads, and other versions, are not affected).
_ACTIVE: ContextVar["Lexicon | None"] = ContextVar("cchc_lexicon", default=None)


def load_or_published(files: tuple[str, ...] = TERM_FILES) -> Lexicon:
    """This process's word lists: knowledge/lexicon, or, when an edit there broke them, the copy the live index
    version keeps (validated when it was published), so a typo in a word list stops nothing; the fault is said on
    stderr once, with what to fix. With no published copy the error stands."""
    try:
        return load_lexicon(files=files)
    except LexiconError as exc:
        for copy in _published_copies():
            try:
                lex = load_lexicon(copy, files=files)
            except LexiconError:
                continue
            if str(exc) not in _WARNED:
                _WARNED.add(str(exc))
                print(f"Cảnh báo: {exc} Tạm dùng danh sách từ của chỉ mục đang chạy cho tới khi sửa.", file=sys.stderr)
            lex.problem = str(exc)
            return lex
        raise


_WARNED: set[str] = set()


def _published_copies() -> list[Path]:
    """The word lists kept by the live index version first, then by the newer versions."""
    from index.settings import get_settings  # settings import nothing of the index: no cycle

    data_dir = get_settings().data_dir
    live = (data_dir / "CURRENT").read_text(encoding="utf-8").strip() if (data_dir / "CURRENT").exists() else ""
    versions = sorted((p for p in (data_dir / "indexes").glob("*") if (p / SNAPSHOT_DIR).is_dir()), reverse=True)
    return [p / SNAPSHOT_DIR for p in sorted(versions, key=lambda p: p.name != live)]


def lexicon_dir() -> Path:
    """The editable word lists (CCHC_LEXICON_DIR or knowledge/lexicon)."""
    return Path(os.environ.get("CCHC_LEXICON_DIR") or PROJECT_LEXICON)


def fingerprint(directory: Path) -> str:
    """Changes whenever any lexicon file of the folder changes."""
    digest = hashlib.sha1()
    for path in sorted(Path(directory).glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def snapshot(source: Path, target: Path) -> None:
    """Copy the word lists an index version is built with into its folder."""
    target.mkdir(parents=True, exist_ok=True)
    for path in Path(source).glob("*.yaml"):
        shutil.copy(path, target / path.name)


def load_complete(directory: Path) -> Lexicon:
    """Every list of a folder; without the procedure lists if those are broken (as bot.understand does)."""
    try:
        lex = load_lexicon(directory)
    except LexiconError as exc:
        lex = load_lexicon(directory, files=ANALYZER_FILES)
        lex.problem = str(exc)  # said by `cchc index build`: answers lose procedure names and fields until fixed
    lex.directory = Path(directory)
    return lex


def active() -> "Lexicon | None":
    """The lexicon of the index version answering now, or None outside an answer (the process defaults)."""
    return _ACTIVE.get()


@contextmanager
def using(lex: "Lexicon | None") -> Iterator[None]:
    """Answer (or build) with `lex` in this context only; None keeps the process defaults."""
    token = _ACTIVE.set(lex) if lex is not None else None
    try:
        yield
    finally:
        if token is not None:
            _ACTIVE.reset(token)
