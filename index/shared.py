"""One live index for many workers: the pointer in the shared database, the versions in a shared folder or in
S3-compatible object storage.

Without `CCHC_DATABASE_URL` nothing here is used: the CURRENT file in the data dir is the pointer (one machine).
With it, `attach(settings)` makes the `index_pointer` row the live pointer of that data dir for this process
(`index.store` asks it for `current_version`, `pointer_state`, and writes through it on publish and rollback):

- publishing (`cchc index build|refresh|rollback`, the console) first uploads the version to object storage when
  `CCHC_INDEX_S3_URL` is set, then moves the row and appends to `index_history` in one transaction; the CURRENT
  file is still written afterwards as a local mirror (never read while the row exists);
- a worker (`bot.live.LiveAssistant`) polls the row every `index_check_seconds`; a version missing from its data
  dir is downloaded and verified (index/s3.py) before it is loaded, or, without object storage, is expected in
  the shared `CCHC_DATA_DIR`;
- a database that cannot be read keeps the version already known: workers go on answering.
"""
from __future__ import annotations

import getpass
import logging
import socket
import threading
import time
from pathlib import Path

from index import store

log = logging.getLogger(__name__)
WARN_EVERY_S = 60.0
_ATTACHED: dict[tuple, "SharedPointer"] = {}
_ATTACH_LOCK = threading.Lock()


def who() -> str:
    """user@host of this process: what the history says when no officer is named."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in a container
        user = "?"
    return f"{user}@{socket.gethostname()}"


class SharedPointer:
    """The live pointer of one data dir, kept in the database (`state.pointer.DbPointer`); `s3` optional."""

    def __init__(self, data_dir: Path, pointer, s3=None, engine=None) -> None:
        self.data_dir = Path(data_dir)
        self.pointer = pointer
        self.s3 = s3
        self._engine = engine
        self._last: tuple[str | None, int] | None = None
        self._warned_at = 0.0
        self._fetch_lock = threading.Lock()
        self.last_upload = None  # index.s3.Transfer of the latest publish / download (shown in logs, measured)
        self.last_download = None

    # -- read ---------------------------------------------------------------------------------
    def state(self) -> tuple[str | None, int]:
        """(version, published_at in ns). Before anything was published through the database: the CURRENT file."""
        from state.engine import is_down

        try:
            row = self.pointer.read()
        except Exception as exc:
            if not is_down(exc):
                raise
            if self._last is None:
                raise store.IndexUnavailable(f"Không đọc được con trỏ chỉ mục từ CSDL dùng chung "
                                             f"({type(exc).__name__}). Hãy kiểm tra CCHC_DATABASE_URL và máy chủ "
                                             "PostgreSQL.") from exc
            now = time.monotonic()
            if now - self._warned_at > WARN_EVERY_S:
                self._warned_at = now
                log.warning("index pointer not read from the database (%s); still serving %s",
                            type(exc).__name__, self._last[0])
            return self._last
        state = store.local_pointer_state(self.data_dir) if row is None else (row.version,
                                                                                int(row.published_at * 1e9))
        self._last = state
        return state

    def current(self) -> str | None:
        return self.state()[0]

    # -- publish ------------------------------------------------------------------------------
    def publish(self, version: str, action: str = "publish") -> None:
        """Upload (object storage) then move the row; the version must already be complete and checked."""
        from state.engine import is_down

        folder = store.indexes_dir(self.data_dir) / version
        if self.s3 is not None:
            if (folder / "manifest.json").exists():
                self.last_upload = self.s3.upload(folder, version)
                if not self.last_upload.skipped:
                    log.info("index version %s uploaded: %d files, %.1f MB in %.1f s", version,
                             self.last_upload.files, self.last_upload.bytes / 1e6, self.last_upload.seconds)
            elif self.s3.listing(version) is None:
                raise store.IndexUnavailable(f"Phiên bản {version} không có ở máy này lẫn trên kho lưu trữ S3: "
                                             "không chuyển sang được.")
        by = who()
        if action == "publish":
            try:  # the officer the console names in the manifest just before publishing
                by = store.read_manifest(folder).extra.get("published_by") or by
            except (OSError, ValueError, TypeError):
                pass
        try:
            row = self.pointer.write(version, by, action)
        except Exception as exc:
            if is_down(exc):
                raise store.IndexUnavailable(f"Không ghi được con trỏ chỉ mục vào CSDL dùng chung "
                                             f"({type(exc).__name__}): phiên bản đang phục vụ không đổi. Hãy kiểm "
                                             "tra máy chủ PostgreSQL rồi làm lại.") from exc
            raise
        self._last = (row.version, int(row.published_at * 1e9))
        try:  # a local mirror for a later return to one machine; never read while the row exists
            store.write_local_pointer(self.data_dir, version)
        except (OSError, store.IndexUnavailable) as exc:
            log.warning("local CURRENT mirror not written: %s", exc)
        if self.s3 is not None:
            try:
                self.s3.prune(set(store.list_versions(self.data_dir)) | {version})
            except Exception as exc:  # object storage keeps an old version a little longer: harmless
                log.warning("old index versions not pruned from object storage: %s", exc)

    def history(self, limit: int = 50) -> list[dict]:
        return self.pointer.history(limit)

    def exclusive(self):
        """Context manager: True while this process is the deployment's only publisher (index.refresh)."""
        return self.pointer.exclusive()

    # -- fetch --------------------------------------------------------------------------------
    def fetch(self, version: str) -> None:
        """Make `version` present in this data dir (download and verify), or raise IndexUnavailable."""
        root = store.indexes_dir(self.data_dir)
        if self.s3 is None:
            raise store.IndexUnavailable(
                f"Phiên bản chỉ mục {version} (con trỏ trong CSDL dùng chung) không có trong {root}. Các tiến trình "
                "phải dùng chung thư mục dữ liệu CCHC_DATA_DIR, hoặc đặt CCHC_INDEX_S3_URL để tải từ kho lưu trữ.")
        from index.s3 import prune_fetched

        with self._fetch_lock:  # two threads of one worker never download the same version twice
            transfer = self.s3.download(version, root)
        if not transfer.skipped:
            self.last_download = transfer
            log.info("index version %s downloaded and verified: %d files, %.1f MB in %.1f s", version,
                     transfer.files, transfer.bytes / 1e6, transfer.seconds)
            keep = {version} | ({self._last[0]} if self._last and self._last[0] else set())
            prune_fetched(root, keep)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def attach(settings) -> SharedPointer | None:
    """Make the database row the live pointer of `settings.data_dir` in this process (idempotent, cached);
    without a database URL, the CURRENT file again (and None)."""
    from state.engine import database_url

    data_dir = Path(settings.data_dir)
    url = database_url(settings)
    if url is None:
        store.share(data_dir, None)
        return None
    s3_key = tuple(str(getattr(settings, f"index_s3_{k}", None)) for k in ("url", "bucket", "prefix", "region",
                                                                          "access_key"))
    key = (str(data_dir.resolve()), url.render_as_string(hide_password=False), s3_key)
    with _ATTACH_LOCK:
        shared = _ATTACHED.get(key)
        if shared is None:
            shared = _open(data_dir, url, settings)
            _ATTACHED[key] = shared
        store.share(data_dir, shared)
    return shared


def _open(data_dir: Path, url, settings) -> SharedPointer:
    from state.engine import is_down, make_engine
    from state.migrate import status
    from state.pointer import DbPointer
    from state.errors import SchemaBehind
    from index.s3 import S3Versions

    engine = make_engine(url, pool_size=1)
    try:
        found = status(engine)
    except Exception as exc:
        engine.dispose()
        if is_down(exc):
            raise store.IndexUnavailable(f"Không kết nối được CSDL dùng chung để đọc con trỏ chỉ mục "
                                         f"({type(exc).__name__}). Hãy kiểm tra CCHC_DATABASE_URL.") from exc
        raise
    if not found.up_to_date:
        engine.dispose()
        raise SchemaBehind(f"CSDL dùng chung ở phiên bản lược đồ {found.current or 'trống'}, cần {found.head}. "
                           "Hãy chạy `cchc db upgrade` trước khi chạy các tiến trình.")
    return SharedPointer(data_dir, DbPointer(engine), S3Versions.for_settings(settings), engine)


def detach(settings) -> None:
    """Forget the shared pointer of `settings.data_dir` (tests; a process that changes configuration)."""
    data_dir = Path(settings.data_dir)
    store.share(data_dir, None)
    with _ATTACH_LOCK:
        for key in [k for k in _ATTACHED if k[0] == str(data_dir.resolve())]:
            _ATTACHED.pop(key).close()
