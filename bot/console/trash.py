"""Deleted documents go to a trash folder in the data folder, never away: an officer can bring one back.

Each deletion is one folder `<data_dir>/console/trash/<time>-<id>/` holding the file as it was and a small
JSON note (where it lived, its title, who deleted it and when).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from index.types import Document

TRASH_DIR = "trash"
NOTE = "deleted.json"
RE_ENTRY = re.compile(r"^[0-9TZ]+-[A-Za-z0-9.\-]{1,120}$")  # folder names this module writes, nothing else
_lock = threading.Lock()


class TrashError(ValueError):
    """The file cannot be moved or brought back; the message says why (plain Vietnamese)."""


@dataclass(frozen=True)
class Deleted:
    name: str  # the trash folder's name: what the restore form sends
    doc_id: str
    title: str
    relative: str  # where the file lived, relative to the knowledge folder
    by: str
    at: float


def trash_dir(console_dir: Path) -> Path:
    return console_dir / TRASH_DIR


def move_to_trash(console_dir: Path, knowledge_dir: Path, path: Path, doc: Document, user: str) -> Deleted:
    """Move one knowledge file into the trash with a note; the knowledge folder no longer has it."""
    relative = path.resolve().relative_to(knowledge_dir.resolve())
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    safe_id = re.sub(r"[^A-Za-z0-9.\-]+", "-", doc.id)[:120].strip("-.") or "van-ban"
    entry = Deleted(f"{stamp}-{safe_id}", doc.id, doc.title, relative.as_posix(), user, time.time())
    folder = trash_dir(console_dir) / entry.name
    with _lock:
        folder.mkdir(parents=True)
        (folder / NOTE).write_text(json.dumps(entry.__dict__, ensure_ascii=False, indent=1), encoding="utf-8")
        shutil.move(str(path), str(folder / path.name))
    return entry


def listing(console_dir: Path) -> list[Deleted]:
    """Deleted documents, newest first."""
    root = trash_dir(console_dir)
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir(), reverse=True):
        try:
            out.append(Deleted(**json.loads((folder / NOTE).read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return out


def restore(console_dir: Path, knowledge_dir: Path, name: str, ids_in_use: set[str]) -> Deleted:
    """Put a deleted file back where it was; refused when its place or its id is taken meanwhile."""
    if not RE_ENTRY.match(name):
        raise TrashError("Không có văn bản này trong thùng rác.")
    folder = trash_dir(console_dir) / name
    with _lock:
        try:
            entry = Deleted(**json.loads((folder / NOTE).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            raise TrashError("Không có văn bản này trong thùng rác.") from None
        target = (knowledge_dir / entry.relative).resolve()
        if not target.is_relative_to(knowledge_dir.resolve()):
            raise TrashError("Không khôi phục được: vị trí cũ của văn bản không thuộc kho tri thức.")
        if target.exists():
            raise TrashError(f"Không khôi phục được “{entry.title}”: đã có một tệp khác ở vị trí cũ.")
        if entry.doc_id in ids_in_use:
            raise TrashError(f"Không khôi phục được “{entry.title}”: mã văn bản {entry.doc_id} đang được dùng.")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder / target.name), str(target))
        os.utime(target)  # a fresh modification time: the parse cache reads it again
        shutil.rmtree(folder, ignore_errors=True)
    return entry
