"""The eval question file, edited from the console, and the history of test-set runs.

The YAML file stays the source of truth (`cchc eval` reads the same file), so every change re-reads
it from disk and writes it back with ruamel.yaml's round-trip mode: comments, quoting and the order
of keys that officers and developers wrote by hand survive an edit made in the browser.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from bot.evaluate import EvalItem, Report

RUNS_DIR = "eval-runs"
KEEP_RUNS = 50
_write_lock = threading.Lock()


class EvalFileError(ValueError):
    """The edit cannot be made; the message (Vietnamese) is shown to the officer."""


class Item(EvalItem):
    """One eval question as the console shows and edits it (the same fields `cchc eval` reads)."""

    def fingerprint(self) -> str:
        """Changes when the question or what it expects changes (so a run diff can say 'edited')."""
        payload = json.dumps([self.question, self.expect_found, self.expected_facts, self.expected_docs],
                             ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


def _yaml() -> YAML:
    y = YAML()  # round-trip
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=2, offset=0)
    return y


def _load_raw(path: Path) -> CommentedSeq:
    try:
        data = _yaml().load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except Exception as exc:  # ruamel raises many error types
        raise EvalFileError(f"Không đọc được tệp câu hỏi {path}: {exc}") from exc
    if data is None:
        return CommentedSeq()
    if not isinstance(data, list):
        raise EvalFileError(f"Tệp câu hỏi {path} phải là một danh sách câu hỏi.")
    return data


def _to_item(row: Any) -> Item:
    return Item(
        id=str(row.get("id", "")), question=str(row.get("question", "")),
        category=str(row.get("category") or "other"), expect_found=bool(row.get("expect_found", True)),
        expected_facts=[str(f) for f in (row.get("expected_facts") or [])],
        expected_docs=[str(d) for d in (row.get("expected_docs") or [])],
    )


def load(path: Path) -> list[Item]:
    return [_to_item(row) for row in _load_raw(path) if isinstance(row, dict)]


def _save(path: Path, data: CommentedSeq) -> None:
    out = io.StringIO()
    _yaml().dump(data, out)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _flow(values: list[str]) -> CommentedSeq:
    seq = CommentedSeq([DoubleQuotedScalarString(v) for v in values])
    seq.fa.set_flow_style()  # `expected_facts: ["…", "…"]`, as in the hand-written file
    return seq


def _next_id(data: CommentedSeq) -> str:
    numbers = [int(m.group(1)) for row in data if isinstance(row, dict)
               for m in [re.fullmatch(r"q(\d+)", str(row.get("id", "")))] if m]
    return f"q{(max(numbers) + 1) if numbers else 1:03d}"


def _clean(question: str, category: str, facts: list[str], docs: list[str]) -> tuple[str, str, list[str], list[str]]:
    question = " ".join(question.split())
    category = re.sub(r"[^\w\-]+", "_", category.strip()).strip("_") or "other"
    facts = [f.strip() for f in facts if f.strip()]
    docs = [d.strip() for d in docs if d.strip()]
    if not question:
        raise EvalFileError("Câu hỏi không được để trống.")
    return question, category, facts, docs


def save_item(path: Path, item_id: str | None, question: str, category: str, expect_found: bool,
              facts: list[str], docs: list[str] | None = None) -> str:
    """Add (item_id None) or change one question; returns its id. Other entries are left byte for byte."""
    question, category, facts, docs_clean = _clean(question, category, facts, docs or [])
    with _write_lock:
        data = _load_raw(path)
        if item_id:
            row = next((r for r in data if isinstance(r, dict) and str(r.get("id")) == item_id), None)
            if row is None:
                raise EvalFileError(f"Không còn câu hỏi {item_id} trong tệp (có thể ai đó vừa xoá).")
            if row.get("question") != question:
                row["question"] = DoubleQuotedScalarString(question)
            if row.get("category") != category:
                row["category"] = category
            if bool(row.get("expect_found", True)) != expect_found:
                row["expect_found"] = expect_found
            if docs is not None and [str(d) for d in (row.get("expected_docs") or [])] != docs_clean:
                row["expected_docs"] = _flow(docs_clean)
            if [str(f) for f in (row.get("expected_facts") or [])] != facts:
                row["expected_facts"] = _flow(facts)
            new_id = item_id
        else:
            new_id = _next_id(data)
            row = CommentedMap()
            row["id"] = new_id
            row["question"] = DoubleQuotedScalarString(question)
            row["category"] = category
            row["expect_found"] = expect_found
            row["expected_docs"] = _flow(docs_clean)
            row["expected_facts"] = _flow(facts)
            data.append(row)
            if len(data) > 1:
                data.yaml_set_comment_before_after_key(len(data) - 1, before="\n")  # a blank line between entries
        _save(path, data)
    return new_id


def delete_item(path: Path, item_id: str) -> bool:
    with _write_lock:
        data = _load_raw(path)
        for i, row in enumerate(data):
            if isinstance(row, dict) and str(row.get("id")) == item_id:
                del data[i]
                _save(path, data)
                return True
    return False


# -- runs ---------------------------------------------------------------------------------
def _runs_dir(console_dir: Path) -> Path:
    return console_dir / RUNS_DIR


def _file_key(path: Path) -> str:
    return str(Path(path).resolve())


def record_run(console_dir: Path, path: Path, items: list[Item], report: Report, seconds: float) -> dict:
    """Store one run next to the others (JSON, no citizen data: only the eval questions)."""
    fingerprints = {i.id: i.fingerprint() for i in items}
    run = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "file": _file_key(path),
        "seconds": round(seconds, 1),
        "metrics": report.metrics(),
        "by_category": report.by_category(),
        "results": {
            r.item.id: {"correct": r.correct, "found": r.found, "rank": r.rank, "coverage": round(r.coverage, 3),
                        "category": r.item.category, "fingerprint": fingerprints.get(r.item.id, ""),
                        "answer": r.answer}
            for r in report.results
        },
    }
    folder = _runs_dir(console_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + ".json"
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / name)
    for old in sorted(folder.glob("*.json"))[:-KEEP_RUNS]:
        old.unlink(missing_ok=True)
    return run


def runs(console_dir: Path, path: Path, limit: int = 2) -> list[dict]:
    """The newest runs of this file, newest first."""
    folder = _runs_dir(console_dir)
    if not folder.is_dir():
        return []
    key = _file_key(path)
    found: list[dict] = []
    for p in sorted(folder.glob("*.json"), reverse=True):
        try:
            run = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if run.get("file") == key:
            found.append(run)
            if len(found) >= limit:
                break
    return found


def compare(current: dict, previous: dict | None) -> dict:
    """What changed since the previous run: per question a status, plus metric differences."""
    status: dict[str, str] = {}
    prev_results = (previous or {}).get("results", {})
    for qid, r in current.get("results", {}).items():
        before = prev_results.get(qid)
        if previous is None:
            status[qid] = ""
        elif before is None:
            status[qid] = "new"
        elif before.get("fingerprint") and before.get("fingerprint") != r.get("fingerprint"):
            status[qid] = "edited"
        elif before["correct"] and not r["correct"]:
            status[qid] = "regression"
        elif not before["correct"] and r["correct"]:
            status[qid] = "fixed"
        else:
            status[qid] = "same"
    removed = sorted(set(prev_results) - set(current.get("results", {})))
    deltas: dict[str, float | None] = {}
    if previous is not None:
        for k, v in current.get("metrics", {}).items():
            old = previous.get("metrics", {}).get(k)
            deltas[k] = round(v - old, 3) if isinstance(v, (int, float)) and isinstance(old, (int, float)) else None
    return {
        "status": status,
        "removed": removed,
        "deltas": deltas,
        "regressions": sorted(q for q, s in status.items() if s == "regression"),
        "fixed": sorted(q for q, s in status.items() if s == "fixed"),
    }
