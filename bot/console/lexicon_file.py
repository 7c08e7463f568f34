"""Edit one entry of a lexicon file (knowledge/lexicon/*.yaml) in place, keeping everything else byte for byte.

The files are written by people: header comments, section comments ("# --- Hộ tịch ---"), one-line
entries in some files and block entries in others. A round-trip YAML dump would drop a section comment
together with the entry before it, so edits are made on lines: the entry's lines (found by the YAML
parser) are replaced, removed or appended in the file's own style, and the result must pass
`index.lexicon`'s validator — run on a copy of the whole folder — before the file is replaced.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from ruamel.yaml import YAML

from index.lexicon import LexiconError, load_lexicon

FIELDS = ("term", "means", "note", "example")
_lock = threading.Lock()
_PLAIN = re.compile(r"^[^\s,:{}\[\]#&*!|>'\"%@`?-][^,:{}\[\]#]*(?<!\s)$")


@dataclass(frozen=True)
class Draft:
    term: str
    means: str
    note: str
    example: str


def _fold(text: str) -> str:
    from index.lexicon import _fold as fold

    return fold(text)


def _scalar(value: str, quoted: bool) -> str:
    """A YAML scalar in the files' house style: plain when safe, else double-quoted (JSON is valid YAML)."""
    safe = not quoted and bool(_PLAIN.match(value)) and yaml.safe_load(value) == value
    return value if safe else json.dumps(value, ensure_ascii=False)


def render(draft: Draft, flow: bool) -> list[str]:
    if flow:
        parts = [f"{k}: {_scalar(getattr(draft, k), k == 'example')}" for k in FIELDS]
        return ["  - {" + ", ".join(parts) + "}"]
    return ([f"  - term: {_scalar(draft.term, False)}", f"    means: {_scalar(draft.means, False)}"]
            + [f"    {k}: {_scalar(getattr(draft, k), True)}" for k in ("note", "example")])


def _spans(text: str) -> tuple[list[tuple[int, int]], bool, list[dict]]:
    """(start, end) line range of each entry (comments and blank lines after it excluded), flow style, rows."""
    data = YAML().load(text)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise LexiconError("Tệp từ điển phải có danh sách 'entries'.")
    seq = data["entries"]
    lines = text.splitlines()
    starts = [seq.lc.item(i)[0] for i in range(len(seq))]
    spans = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(lines)
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        spans.append((start, end))
    flow = bool(seq) and seq[0].fa.flow_style()
    return spans, flow or not seq, [dict(row) if isinstance(row, dict) else {} for row in seq]


def _check_draft(draft: Draft) -> None:
    missing = [name for name, k in (("cách viết", "term"), ("nghĩa", "means"), ("ghi chú", "note"),
                                    ("ví dụ", "example")) if not getattr(draft, k).strip()]
    if missing:
        raise LexiconError("Hãy điền đủ: " + ", ".join(missing) + ".")
    if any("\n" in getattr(draft, k) for k in FIELDS):
        raise LexiconError("Mỗi ô chỉ ghi một dòng.")


def _validated_write(directory: Path, stem: str, text: str) -> None:
    """Validate the whole folder with the new text of one file, then replace that file atomically."""
    with tempfile.TemporaryDirectory(prefix="cchc-lexicon-") as tmp:
        for path in directory.glob("*.yaml"):
            shutil.copy(path, Path(tmp) / path.name)
        (Path(tmp) / f"{stem}.yaml").write_text(text, encoding="utf-8")
        load_lexicon(Path(tmp))  # raises LexiconError naming the file, the entry and the fix
    target = directory / f"{stem}.yaml"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp_name, 0o644)
    os.replace(tmp_name, target)


def _find(rows: list[dict], term: str) -> int | None:
    folded = _fold(term)
    return next((i for i, row in enumerate(rows) if _fold(str(row.get("term", ""))) == folded), None)


def save(directory: Path, stem: str, original: str | None, draft: Draft) -> str:
    """Add (`original` None) or replace an entry; returns "add" or "edit". Raises LexiconError (Vietnamese)."""
    draft = Draft(*(getattr(draft, k).strip() for k in FIELDS))
    _check_draft(draft)
    with _lock:
        path = directory / f"{stem}.yaml"
        text = path.read_text(encoding="utf-8") if path.exists() else "entries:\n"
        spans, flow, rows = _spans(text)
        lines = text.splitlines()
        at = _find(rows, original) if original else None
        if original and at is None:
            raise LexiconError(f"Không còn mục '{original}' trong tệp (có thể vừa bị người khác xoá hoặc sửa).")
        clash = _find(rows, draft.term)
        if clash is not None and clash != at:
            raise LexiconError(f"Đã có mục '{rows[clash].get('term')}' (cùng cách viết khi bỏ dấu). Hãy sửa mục đó.")
        new = render(draft, flow)
        if at is None:
            end = spans[-1][1] if spans else len(lines)
            lines[end:end] = new
        else:
            start, end = spans[at]
            lines[start:end] = new
        _validated_write(directory, stem, "\n".join(lines) + "\n")
    return "add" if at is None else "edit"


def delete(directory: Path, stem: str, term: str) -> dict:
    """Remove one entry; returns it (for the audit log). Raises LexiconError when it is not there."""
    with _lock:
        path = directory / f"{stem}.yaml"
        text = path.read_text(encoding="utf-8")
        spans, _, rows = _spans(text)
        at = _find(rows, term)
        if at is None:
            raise LexiconError(f"Không còn mục '{term}' trong tệp.")
        lines = text.splitlines()
        start, end = spans[at]
        del lines[start:end]
        _validated_write(directory, stem, "\n".join(lines) + "\n")
        return rows[at]
