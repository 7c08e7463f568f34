"""The life of index versions: the live pointer (the CURRENT file, or a shared one), their states, publish,
rollback and prune. Kept apart from `index.store`, which writes and reads one version's folder.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from index.store import (KEEP_VERSIONS, IndexMissing, IndexUnavailable, Manifest, disk_full, indexes_dir,
                         is_disk_full, read_manifest)


# -- the live pointer: the CURRENT file, or (many workers, CCHC_DATABASE_URL) a shared one from index.shared ---
_SHARED: dict[Path, object] = {}


def share(data_dir: Path, pointer: object | None) -> None:
    """In this process, `pointer` (an index.shared.SharedPointer) is the live pointer of `data_dir`; None: the
    CURRENT file again. Set by `index.shared.attach(settings)`."""
    key = Path(data_dir).resolve()
    if pointer is None:
        _SHARED.pop(key, None)
    else:
        _SHARED[key] = pointer


def shared_pointer(data_dir: Path):
    return _SHARED.get(Path(data_dir).resolve()) if _SHARED else None


def _write_pointer(data_dir: Path, version: str, action: str = "publish") -> None:
    shared = shared_pointer(data_dir)
    if shared is not None:  # uploads the version if object storage is configured, then moves the database row
        shared.publish(version, action)
        return
    write_local_pointer(data_dir, version)


def write_local_pointer(data_dir: Path, version: str) -> None:
    tmp = data_dir / "CURRENT.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, data_dir / "CURRENT")
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(data_dir) from exc
        raise


def current_version(data_dir: Path) -> str | None:
    shared = shared_pointer(data_dir)
    if shared is not None:  # many workers: the pointer is a database row (index.shared)
        return shared.current()
    return _local_version(data_dir)


def _local_version(data_dir: Path) -> str | None:
    pointer = data_dir / "CURRENT"
    if not pointer.exists():
        return None
    return pointer.read_text(encoding="utf-8").strip() or None


# -- versions: states, list, roll back, prune (used by `cchc index build/refresh/rollback` and bot.live) ---
# building: written, not yet checked · validated: passed the checks · live: CURRENT points at it ·
# retired: was live, replaced (the only kind rollback goes to). A version without a state predates states.
STATES = ("building", "validated", "live", "retired")
SERVABLE = ("validated", "live", "retired")


def publish(data_dir: Path, version: str, on_switched=None) -> None:
    """Point CURRENT at a validated version, mark states (new live, old retired), prune old versions.

    Refuses a version that was never validated. `on_switched` is a test hook between the pointer and the states.
    """
    state = version_state(data_dir, version)
    if state not in SERVABLE:
        raise IndexUnavailable(f"Phiên bản {version} chưa qua kiểm tra (trạng thái: {state or 'không rõ'}), "
                               "không đưa vào phục vụ.")
    previous = current_version(data_dir)
    _write_pointer(data_dir, version)
    if on_switched is not None:
        on_switched()
    set_state(data_dir, version, "live")
    if previous and previous != version:
        _retire(data_dir, previous)
    prune(data_dir)


def version_state(data_dir: Path, version: str) -> str | None:
    try:
        return read_manifest(indexes_dir(data_dir) / version).extra.get("state")
    except (OSError, ValueError, TypeError):
        return None


def set_state(data_dir: Path, version: str, state: str) -> None:
    """Record a version's state in its manifest (atomic replace); `live` also stamps when it first served."""
    assert state in STATES, state
    path = indexes_dir(data_dir) / version / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    extra = data.setdefault("extra", {})
    extra["state"] = state
    if state in ("live", "retired"):  # only ever set on the version CURRENT points (or pointed) at
        from datetime import datetime, timezone

        extra.setdefault("live_since", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    _write_manifest(data_dir, path, data)


def _write_manifest(data_dir: Path, path: Path, data: dict) -> None:
    """Replace a manifest atomically; a full disk leaves the old one and says so."""
    tmp = path.with_name("manifest.json.tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(data_dir) from exc
        raise


def annotate(data_dir: Path, version: str, **fields) -> None:
    """Add facts about a version to its manifest (who published it and why), beside its state; atomic."""
    path = indexes_dir(data_dir) / version / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("extra", {}).update(fields)
    _write_manifest(data_dir, path, data)


def _retire(data_dir: Path, version: str) -> None:
    """Mark the version that served until now; an unreadable or missing one is simply not a rollback target."""
    try:
        set_state(data_dir, version, "retired")
    except (OSError, ValueError, TypeError):
        pass


def _was_live(manifest: Manifest) -> bool:
    return manifest.extra.get("state") in ("live", "retired") and bool(manifest.extra.get("live_since"))


def list_versions(data_dir: Path) -> list[str]:
    """Complete versions on disk, oldest first (names are UTC timestamps)."""
    root = indexes_dir(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.endswith(".partial") and (p / "manifest.json").exists())


def version_states(data_dir: Path) -> dict[str, str | None]:
    """Every complete version and its state, oldest first."""
    return {v: version_state(data_dir, v) for v in list_versions(data_dir)}


def rollback_targets(data_dir: Path) -> list[str]:
    """Versions that were validated and served before (state retired), oldest first."""
    out = []
    for v in list_versions(data_dir):
        try:
            manifest = read_manifest(indexes_dir(data_dir) / v)
        except (OSError, ValueError, TypeError):
            continue
        if manifest.extra.get("state") == "retired" and _was_live(manifest):
            out.append(v)
    return out


def clean_leftovers(data_dir: Path) -> list[str]:
    """Repair what a killed build/refresh left; call with the refresh lock held. Returns removed folders.

    Removes `.partial` folders and versions never served (building, or validated but not published);
    CURRENT's version is marked live and any other `live` one retired (a kill between pointer and states).
    """
    root = indexes_dir(data_dir)
    if not root.is_dir():
        return []
    removed = []
    for p in sorted(root.iterdir()):
        if p.is_dir() and p.name.endswith(".partial"):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    live = current_version(data_dir)
    if live and version_state(data_dir, live) in ("validated", "retired", None):
        try:
            set_state(data_dir, live, "live")
        except (OSError, ValueError, TypeError):
            pass  # unreadable: the build that follows replaces it
    for v, state in version_states(data_dir).items():
        if v == live:
            continue
        if state == "live":
            _retire(data_dir, v)
        elif state in ("building", "validated"):
            shutil.rmtree(root / v, ignore_errors=True)
            removed.append(v)
    return removed


def prune(data_dir: Path, keep: int = KEEP_VERSIONS) -> list[str]:
    """Keep the live version and the newest `keep - 1` versions rollback can go to; delete the rest.

    A version being built or checked right now is kept (its refresh holds the lock and removes it itself).
    """
    live = current_version(data_dir)
    targets = rollback_targets(data_dir)
    kept = set(targets[-(keep - 1):] if keep > 1 else []) | {live}
    removed = []
    for v, state in version_states(data_dir).items():
        if v in kept or state in ("building", "validated"):
            continue
        shutil.rmtree(indexes_dir(data_dir) / v, ignore_errors=True)
        removed.append(v)
    return removed


def pointer_state(data_dir: Path) -> tuple[str | None, int]:
    """(live version, mtime of the pointer in ns): cheap enough to poll before every question. A shared pointer
    gives (version, when it was published in ns)."""
    shared = shared_pointer(data_dir)
    if shared is not None:
        return shared.state()
    return local_pointer_state(data_dir)


def local_pointer_state(data_dir: Path) -> tuple[str | None, int]:
    pointer = data_dir / "CURRENT"
    try:
        stamp = pointer.stat().st_mtime_ns
    except OSError:
        return None, 0
    return _local_version(data_dir), stamp


def previous_version(data_dir: Path, version: str | None = None) -> str | None:
    """The version rollback would serve: the one live before `version` (default: the live one), if it is a
    version that was validated and served, and is still on disk."""
    version = version or current_version(data_dir)
    if version is None:
        return None
    targets = [v for v in rollback_targets(data_dir) if v != version]
    try:
        recorded = read_manifest(indexes_dir(data_dir) / version).extra.get("previous_version")
    except (OSError, ValueError, TypeError):
        recorded = None
    if recorded in targets:
        return recorded
    older = [v for v in targets if v < version]
    return older[-1] if older else None


def rollback(data_dir: Path) -> tuple[str, str]:
    """Serve again the version that was live before; nothing is deleted. Returns (from, to).

    Only a version that passed validation and served before can come back: never a leftover candidate.
    """
    live = current_version(data_dir)
    if live is None:
        raise IndexMissing(f"Chưa có chỉ mục trong {data_dir}: không có gì để quay lại.")
    target = previous_version(data_dir, live)
    if target is None:
        raise IndexUnavailable(f"Không còn phiên bản nào đã kiểm tra và từng phục vụ trước {live} trong "
                               f"{indexes_dir(data_dir)} để quay lại.")
    _write_pointer(data_dir, target, action="rollback")
    set_state(data_dir, target, "live")
    _retire(data_dir, live)
    return live, target


def remove_version(data_dir: Path, version: str) -> None:
    """Delete a version that failed validation; the live one is never removed."""
    if version == current_version(data_dir):
        raise IndexUnavailable(f"Phiên bản {version} đang phục vụ, không xoá.")
    shutil.rmtree(indexes_dir(data_dir) / version, ignore_errors=True)
