"""The lexicon pages: the answer core's abbreviations, citizens' phrasings and colloquial procedure names.

Editors add, change and delete entries, each with a note and an example; every change is checked by
`index.lexicon`'s validator before the file is written (`lexicon_file`) and goes to the audit log. Like
an edited document, an edit reaches citizens only when a checked index version is published (the
version keeps its own copy of the word lists), so the page lists what is not published yet and leads to
the publish page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import lexicon_file
from bot.console.audit import note
from bot.console.auth import checked_form
from bot.console.roles import require
from index import store
from index.lexicon import SNAPSHOT_DIR, Entry, LexiconError, fingerprint, lexicon_dir, load_lexicon
from index.settings import Settings
from index.vietnamese import fold

# file stem -> (tab name, what it does, label of `term`, label of `means`)
FILES = {
    "abbreviations": ("Viết tắt", "Chữ viết tắt người dân hay gõ và cách viết đầy đủ. Dùng cho cả câu hỏi và văn bản, "
                      "gõ không dấu cũng khớp.", "Chữ viết tắt", "Viết đầy đủ"),
    "synonyms": ("Cách nói của người dân", "Cách người dân nói và từ ngữ văn bản dùng cho cùng một việc. Chỉ dùng "
                 "cho câu hỏi.", "Người dân nói", "Văn bản gọi là"),
    "procedure_names": ("Tên gọi dân gian của thủ tục", "Cách người dân gọi một thủ tục và tên của thủ tục đó "
                        "trong danh mục.", "Người dân gọi là", "Tên trong danh mục"),
    "name_compounds": ("Cụm từ riêng trong tên thủ tục", "Cụm từ trong tên thủ tục chỉ một thứ khác với phần đầu "
                       "của nó (xe máy chuyên dùng không phải xe máy). Chỉ khớp khi câu hỏi nói đủ cả cụm.",
                       "Cụm từ", "Là gì"),
    "restricted_audiences": ("Nhóm người riêng của thủ tục", "Nhóm người (sĩ quan, chiến sĩ công an…) mà một số thủ "
                             "tục chỉ dành cho, dù tên thủ tục không nói ra. Các thủ tục đó xếp sau thủ tục chung "
                             "của người dân, trừ khi câu hỏi nhắc tới nhóm đó.", "Nhóm người", "Là ai"),
}
RE_WHERE = re.compile(r"^[a-z_]+\.yaml(, mục \d+)?( \('[^']*'\))?: ")


def plain(message: str) -> str:
    """The validator names the file and the entry number; the officer sees the entry on screen already."""
    return RE_WHERE.sub("", message)


@dataclass
class Row:
    entry: Entry
    state: str  # "" published | "new" | "changed"


def _read(directory: Path, stem: str) -> list[Entry]:
    return load_lexicon(directory, files=(stem,)).entries.get(stem, [])


def served_dir(settings: Settings) -> Path | None:
    """The word lists of the version citizens are answered from (None for versions made before copies)."""
    version = store.current_version(Path(settings.data_dir))
    path = store.indexes_dir(Path(settings.data_dir)) / version / SNAPSHOT_DIR if version else None
    return path if path is not None and path.is_dir() else None


def overview(settings: Settings, stem: str) -> dict:
    """Entries of one file marked new/changed against the served copy, the entries removed, and how many
    entries of each file are not published yet."""
    draft = lexicon_dir()
    served = served_dir(settings)
    view = _compare(draft, served, stem)
    view["counts"] = {key: _counts(_compare(draft, served, key)) if key != stem else _counts(view) for key in FILES}
    view["pending"] = served is None or fingerprint(served) != fingerprint(draft)
    return view


def _counts(view: dict) -> dict:
    return {"new": sum(r.state == "new" for r in view["rows"]), "removed": len(view["removed"]),
            "changed": sum(r.state == "changed" for r in view["rows"])}


def _compare(draft: Path, served: Path | None, stem: str) -> dict:
    error = None
    try:
        entries = _read(draft, stem)
    except LexiconError as exc:  # a hand edit broke the file: say so, show nothing half-read
        entries, error = [], plain(str(exc))
    before: dict[str, Entry] | None = None
    if served is not None:
        try:
            before = {e.folded: e for e in _read(served, stem)}
        except LexiconError:
            before = None
    rows, removed = [], []
    for e in entries:
        old = before.get(e.folded) if before is not None else None
        state = "" if before is None or old == e else ("changed" if old else "new")
        rows.append(Row(e, state))
    if before is not None:
        now = {e.folded for e in entries}
        removed = [e for k, e in before.items() if k not in now]
    return dict(rows=rows, removed=removed, error=error, compared=before is not None)


def routes(render: Callable, redirect: Callable, settings: Settings) -> list[Route]:
    """The lexicon pages, wired to the console's renderer."""

    def stem_of(value: str | None) -> str:
        return value if value in FILES else "abbreviations"

    async def page(request: Request, status: int = 200, form_error: str | None = None,
                   draft: dict | None = None, stem: str | None = None) -> Response:
        stem = stem or stem_of(request.query_params.get("file"))
        view = await run_in_threadpool(overview, settings, stem)
        search = request.query_params.get("q", "").strip()[:100]
        rows = view["rows"]
        if search:
            needle = fold(search)
            rows = [r for r in rows if needle in fold(" ".join((r.entry.term, r.entry.means, r.entry.note,
                                                                  r.entry.example)))]
        editing = None
        if draft is None and request.query_params.get("edit"):
            wanted = fold(request.query_params["edit"])
            editing = next((r.entry for r in view["rows"] if fold(r.entry.term) == wanted), None)
            if editing:
                draft = {"original": editing.term, "term": editing.term, "means": editing.means,
                         "note": editing.note, "example": editing.example}
        return render(request, "lexicon.html", status=status, files=FILES, stem=stem, info=FILES[stem],
                      shown=rows, total=len(view["rows"]), search=search, view=view, form_error=form_error,
                      draft=draft or {"original": "", "term": "", "means": "", "note": "", "example": ""})

    async def lexicon_page(request: Request) -> Response:
        return await page(request)

    async def save(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        stem = stem_of(str(form.get("file", "")))
        draft = {k: str(form.get(k, "")) for k in ("original", "term", "means", "note", "example")}
        entry = lexicon_file.Draft(draft["term"], draft["means"], draft["note"], draft["example"])
        try:
            done = await run_in_threadpool(lexicon_file.save, lexicon_dir(), stem, draft["original"] or None, entry)
        except LexiconError as exc:
            return await page(request, 400, form_error=plain(str(exc)), draft=draft, stem=stem)
        term = entry.term.strip()
        note(request, f"lexicon.{done}", f"{FILES[stem][0]}: {term}", f"{term} → {entry.means.strip()}")
        verb = "Đã thêm" if done == "add" else "Đã sửa"
        return redirect(f"/lexicon?file={stem}#e-{quote(fold(term).replace(' ', '-'))}", (
            "ok", f"{verb} “{term}”. Thay đổi có hiệu lực với người dân sau khi kiểm tra và xuất bản."), request)

    async def delete(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        stem = stem_of(str(form.get("file", "")))
        term = str(form.get("term", ""))
        try:
            removed = await run_in_threadpool(lexicon_file.delete, lexicon_dir(), stem, term)
        except LexiconError as exc:
            return redirect(f"/lexicon?file={stem}", ("error", plain(str(exc))), request)
        note(request, "lexicon.delete", f"{FILES[stem][0]}: {term}", f"{term} → {removed.get('means', '')}")
        return redirect(f"/lexicon?file={stem}", (
            "ok", f"Đã xoá “{term}”. Thay đổi có hiệu lực với người dân sau khi kiểm tra và xuất bản."), request)

    return [
        Route("/lexicon", lexicon_page, methods=["GET"]),
        Route("/lexicon/save", save, methods=["POST"]),
        Route("/lexicon/delete", delete, methods=["POST"]),
    ]
