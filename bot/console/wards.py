"""Ward profiles in the console: officers read and edit each ward's service centre (hours, address, phone).

The form writes `knowledge/wards/<ward>.yaml` — the same file the bot reads for hand-offs and the index reads
as the document "Thông tin phường X, cập nhật …" — after the same checks as at load, so a saved profile is
always usable. Saving needs the editor role and is audit-logged; answers follow after the next publish.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.audit import AUDIT_FILE, AuditLog
from bot.console.auth import checked_form, console_dir
from bot.console.roles import require
from index.wards import (
    FIELD_NAMES, UNITS, WardProfile, WardProfileError, parse_profile, place_key, profile_files, read_profile,
    ward_file_name,
)

VN = timezone(timedelta(hours=7))
RE_FILE = re.compile(r"^[a-z0-9][a-z0-9-]{0,118}$")
FORM_FIELDS = ("unit", "name", "province", "former_names", "centre", "address", "hours", "phone", "note")


def today() -> str:
    return datetime.now(VN).date().isoformat()


def read_folder(folder: Path) -> tuple[list[WardProfile], list[tuple[str, list[str]]]]:
    """(usable profiles, [(file stem, problems)] of files that cannot be used yet)."""
    good, broken = [], []
    for path in profile_files(folder):
        try:
            good.append(read_profile(path))
        except WardProfileError as exc:
            broken.append((path.stem, exc.problems))
    return sorted(good, key=lambda p: (p.province, p.name)), broken


def draft_of(path: Path) -> dict[str, Any]:
    """The form's values from a file, best effort (a broken file still opens so the officer can fix it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = None
    data = data if isinstance(data, dict) else {}
    if data.get("ward") and not data.get("name"):  # older files: "ward: phường An Hải"
        unit, _, name = str(data["ward"]).partition(" ")
        data = {**data, "unit": unit, "name": name}
    former = data.get("former_names") or []
    draft = {k: "" if data.get(k) is None else str(data.get(k)) for k in FORM_FIELDS}
    draft["former_names"] = "\n".join(map(str, former if isinstance(former, list) else [former]))
    draft["example"] = data.get("example") is True
    draft["updated"] = str(data.get("updated") or "")
    return draft


def profile_from_form(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the form showed, the YAML data to check): updated is today, former names one per line."""
    draft = {k: " ".join(str(form.get(k) or "").split()) for k in FORM_FIELDS if k != "former_names"}
    draft["former_names"] = str(form.get("former_names") or "")
    draft["note"] = str(form.get("note") or "").strip()
    draft["example"] = form.get("example") == "1"
    former = [" ".join(line.split()) for line in draft["former_names"].splitlines() if line.strip()]
    data = {k: draft[k] for k in ("unit", "name", "province", "centre", "address", "hours", "phone", "note")
            if draft[k]}
    data.update(former_names=former, updated=today())
    if draft["example"]:
        data["example"] = True
    return draft, data


def write_profile(path: Path, profile: WardProfile) -> None:
    """Atomically: a bot reading the file mid-save sees the old profile or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(profile.to_yaml())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def changes(before: dict[str, Any] | None, after: WardProfile) -> str:
    """Which fields changed, named as officers know them (the audit detail; no values of other people)."""
    if before is None:
        return "tạo hồ sơ mới"
    now = draft_of_profile(after)
    changed = [FIELD_NAMES[k] for k in (*FORM_FIELDS, "example") if str(before.get(k, "")) != str(now.get(k, ""))]
    return "sửa: " + ", ".join(changed) if changed else "lưu lại, không đổi nội dung"


def draft_of_profile(p: WardProfile) -> dict[str, Any]:
    return {"unit": p.unit, "name": p.name, "province": p.province, "former_names": "\n".join(p.former_names),
            "centre": p.centre, "address": p.address, "hours": p.hours, "phone": p.phone, "note": p.note,
            "example": p.example}


def routes(render: Callable, redirect: Callable, settings: Any) -> list[Route]:
    folder = Path(settings.knowledge_dir) / "wards"
    audit: list[AuditLog] = []

    def record(request: Request, target: str, detail: str) -> None:
        log = getattr(request.app.state, "audit", None)
        if log is None:
            if not audit:
                audit.append(AuditLog(console_dir(settings) / AUDIT_FILE))
            log = audit[0]
        log.record(str(request.session.get("user") or "?"), "ward.edit", target, detail)

    def path_of(file: str) -> Path:
        if not RE_FILE.match(file) or not (folder / f"{file}.yaml").is_file():
            raise HTTPException(404, "Không có hồ sơ xã, phường này.")
        return folder / f"{file}.yaml"

    def form_page(request: Request, draft: dict[str, Any], file: str, problems: list[str] | None = None,
                  status: int = 200) -> Response:
        return render(request, "ward_edit.html", status=status, draft=draft, file=file, problems=problems or [],
                      units=UNITS, field_names=FIELD_NAMES)

    async def wards_page(request: Request) -> Response:
        good, broken = await run_in_threadpool(read_folder, folder)
        return render(request, "wards.html", profiles=good, broken=broken)

    async def new_page(request: Request) -> Response:
        return form_page(request, {**dict.fromkeys(FORM_FIELDS, ""), "unit": "phường", "example": False,
                                   "updated": ""}, "")

    async def edit_page(request: Request) -> Response:
        file = request.path_params["file"]
        return form_page(request, await run_in_threadpool(draft_of, path_of(file)), file)

    async def save(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "editor")
        file = str(form.get("file") or "")
        before = await run_in_threadpool(draft_of, path_of(file)) if file else None
        draft, data = profile_from_form(form)
        draft["updated"] = before["updated"] if before else ""
        try:
            profile = parse_profile(data, "hồ sơ", file)
        except WardProfileError as exc:
            return form_page(request, draft, file, exc.problems, status=400)
        good, _ = await run_in_threadpool(read_folder, folder)
        clash = next((p for p in good if p.file != file and place_key(p.name) == place_key(profile.name)), None)
        target = folder / (f"{file}.yaml" if file else ward_file_name(profile.ward))
        if clash or (not file and target.exists()):
            name = clash.ward if clash else profile.ward
            return form_page(request, draft, file, [f"đã có hồ sơ {name}: hãy mở hồ sơ đó để sửa"], status=400)
        profile = replace(profile, file=target.stem)
        await run_in_threadpool(write_profile, target, profile)
        record(request, profile.ward, changes(before, profile))
        return redirect("/knowledge/wards", ("ok", f"Đã lưu hồ sơ {profile.ward}. Người dân xin gặp cán bộ được chỉ "
                        "tới thông tin mới ngay; câu trả lời về giờ làm việc, địa chỉ đổi theo sau khi bấm "
                        "“Xuất bản” ở trang Tri thức."), request)

    return [Route("/knowledge/wards", wards_page, methods=["GET"]),
            Route("/knowledge/wards/new", new_page, methods=["GET"]),
            Route("/knowledge/wards/save", save, methods=["POST"]),
            Route("/knowledge/wards/{file}/edit", edit_page, methods=["GET"])]
