"""Index versions in S3-compatible object storage (`CCHC_INDEX_S3_URL`): uploaded once by the machine that
publishes, downloaded and verified by every worker that serves them.

Layout: `<bucket>/<prefix>/<version>/<file>` for each file of the version folder, then
`<prefix>/<version>/files.json` (sha256 and size of every file) written last: a version without it is an
upload that did not finish and is never downloaded. A download goes to a `.partial` folder beside the versions,
every file is checked against files.json, and only a complete, verified folder is renamed into place — a
worker never loads half a version or a tampered file. Client: the MinIO SDK (`pip install -e '.[s3]'`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from index.store import IndexUnavailable

log = logging.getLogger(__name__)

FILES = "files.json"
FETCHED_MARK = ".fetched"  # inside a version folder this worker downloaded (only those are pruned as a cache)
PART_SIZE = 16 * 1024 * 1024


class S3Unavailable(IndexUnavailable):
    """Object storage refused or could not be reached; the message is Vietnamese, for the operator."""


class VersionCorrupt(IndexUnavailable):
    """A downloaded file does not match files.json: the version is not loaded."""


@dataclass
class Transfer:
    version: str
    files: int
    bytes: int
    seconds: float
    skipped: bool = False  # upload: the version was already there


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version_files(folder: Path) -> list[Path]:
    """The files that make a version (relative paths), without this machine's marks and temporary files."""
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts) and not rel.name.endswith(".tmp"):
            out.append(rel)
    return out


class S3Versions:
    """One bucket and prefix holding index versions."""

    def __init__(self, url: str, bucket: str, access_key: str | None, secret_key: str | None,
                 region: str = "us-east-1", prefix: str = "indexes") -> None:
        try:
            import urllib3
            from minio import Minio
        except ImportError as exc:  # the optional extra is not installed
            raise S3Unavailable("Đã đặt CCHC_INDEX_S3_URL nhưng chưa cài thư viện S3: hãy chạy "
                                "pip install -e '.[s3]'.") from exc
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise S3Unavailable(f"CCHC_INDEX_S3_URL không đúng dạng ({url!r}), ví dụ đúng: https://s3.example.vn "
                                "hoặc http://127.0.0.1:8333.")
        self.where = f"{parts.scheme}://{parts.netloc}/{bucket}/{prefix}"
        self.bucket, self.prefix = bucket, prefix.strip("/")
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=60), maxsize=4,
                                   retries=urllib3.Retry(total=3, backoff_factor=0.5,
                                                         status_forcelist=[500, 502, 503, 504]))
        self.client = Minio(parts.netloc, access_key=access_key, secret_key=secret_key,
                            secure=parts.scheme == "https", region=region, http_client=http)

    @classmethod
    def for_settings(cls, settings) -> "S3Versions | None":
        url = getattr(settings, "index_s3_url", None)
        if not url:
            return None
        secret = getattr(settings, "index_s3_secret_key", None)
        secret = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
        return cls(url, settings.index_s3_bucket, settings.index_s3_access_key, secret,
                   settings.index_s3_region, settings.index_s3_prefix)

    def _key(self, version: str, rel: str | Path = "") -> str:
        return "/".join(p for p in (self.prefix, version, str(rel)) if p)

    def _fail(self, doing: str, exc: Exception) -> S3Unavailable:
        return S3Unavailable(f"Không {doing} trên kho lưu trữ S3 {self.where} ({type(exc).__name__}: "
                             f"{getattr(exc, 'code', None) or exc}). Hãy kiểm tra CCHC_INDEX_S3_URL, tên bucket, "
                             "khoá truy cập và máy chủ lưu trữ.")

    # -- publisher ------------------------------------------------------------------------------
    def listing(self, version: str) -> dict | None:
        """files.json of an uploaded version, or None when it is not (completely) there."""
        from minio.error import S3Error

        try:
            response = self.client.get_object(self.bucket, self._key(version, FILES))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject"):
                return None
            raise self._fail("đọc danh sách tệp", exc) from exc
        except Exception as exc:  # connection refused, timeouts
            raise self._fail("đọc danh sách tệp", exc) from exc
        try:
            return json.loads(response.read())
        finally:
            response.close()
            response.release_conn()

    def upload(self, folder: Path, version: str) -> Transfer:
        """Put a version folder in the bucket (files first, files.json last). A version already there is left as it
        is: versions never change once published (only this machine's manifest notes its state), so a rollback
        to it uploads nothing."""
        started = time.perf_counter()
        known = self.listing(version)
        if known is not None:
            return Transfer(version, len(known.get("files") or {}), 0, time.perf_counter() - started, skipped=True)
        files = {str(rel): {"sha256": sha256_of(folder / rel), "size": (folder / rel).stat().st_size}
                 for rel in version_files(folder)}
        if "manifest.json" not in files:
            raise IndexUnavailable(f"Phiên bản {version} không có manifest.json, không tải lên.")
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
            for rel in files:
                self.client.fput_object(self.bucket, self._key(version, rel), str(folder / rel), part_size=PART_SIZE)
            body = json.dumps({"version": version, "files": files, "uploaded_at": time.time(),
                               "uploaded_by": socket.gethostname()}, ensure_ascii=False, indent=1).encode()
            import io

            self.client.put_object(self.bucket, self._key(version, FILES), io.BytesIO(body), len(body),
                                   content_type="application/json")
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise self._fail(f"tải lên được phiên bản {version}", exc) from exc
        size = sum(f["size"] for f in files.values())
        return Transfer(version, len(files), size, time.perf_counter() - started)

    def versions(self) -> list[str]:
        """Versions in the bucket that finished uploading, oldest first."""
        try:
            names = {o.object_name[len(self.prefix) + 1:].split("/", 1)[0]
                     for o in self.client.list_objects(self.bucket, prefix=self.prefix + "/")}
            return sorted(v.rstrip("/") for v in names if v and self.listing(v.rstrip("/")) is not None)
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise self._fail("liệt kê được các phiên bản", exc) from exc

    def remove(self, version: str) -> None:
        """Delete a version: files.json first, so no worker starts downloading what is being removed."""
        from minio.deleteobjects import DeleteObject

        self.client.remove_object(self.bucket, self._key(version, FILES))
        objects = self.client.list_objects(self.bucket, prefix=self._key(version) + "/", recursive=True)
        for error in self.client.remove_objects(self.bucket, [DeleteObject(o.object_name) for o in objects]):
            log.warning("index version %s: %s not removed from S3: %s", version, error.name, error.message)

    def prune(self, keep: set[str]) -> list[str]:
        """Remove uploaded versions not in `keep` and older than the newest kept (a newer one may be uploading)."""
        if not keep:
            return []
        newest = max(keep)
        removed = [v for v in self.versions() if v not in keep and v < newest]
        for version in removed:
            self.remove(version)
        return removed

    # -- worker ---------------------------------------------------------------------------------
    def download(self, version: str, root: Path) -> Transfer:
        """Fetch, verify and place `<root>/<version>`; a version already there is left as it is."""
        started = time.perf_counter()
        target = root / version
        if (target / "manifest.json").exists():
            return Transfer(version, 0, 0, 0.0, skipped=True)
        listing = self.listing(version)
        if listing is None:
            raise S3Unavailable(f"Phiên bản chỉ mục {version} không có (hoặc chưa tải lên xong) trên kho lưu trữ "
                                f"S3 {self.where}.")
        files: dict = listing.get("files") or {}
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f"{version}.dl-{os.getpid()}-{secrets.token_hex(3)}.partial"
        try:
            for rel, expected in files.items():
                path = tmp / rel
                if ".." in Path(rel).parts or Path(rel).is_absolute():
                    raise VersionCorrupt(f"Phiên bản {version} trên S3 có tên tệp không hợp lệ: {rel!r}.")
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self.client.fget_object(self.bucket, self._key(version, rel), str(path))
                except Exception as exc:
                    raise self._fail(f"tải về được tệp {rel} của phiên bản {version}", exc) from exc
                if path.stat().st_size != expected["size"] or sha256_of(path) != expected["sha256"]:
                    raise VersionCorrupt(f"Tệp {rel} của phiên bản chỉ mục {version} tải từ S3 không khớp mã băm "
                                         "đã ghi khi xuất bản: không dùng phiên bản này.")
            (tmp / FETCHED_MARK).write_text(f"{time.time()}\n", encoding="utf-8")
            try:
                tmp.rename(target)
            except OSError:
                if not (target / "manifest.json").exists():  # not another worker of this machine winning the race
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        size = sum(f["size"] for f in files.values())
        return Transfer(version, len(files), size, time.perf_counter() - started)


def prune_fetched(root: Path, keep: set[str], spare: int = 2) -> list[str]:
    """Delete downloaded versions (marked FETCHED_MARK) beyond the `spare` newest and `keep`; and downloads a killed
    worker left (`.dl-*.partial` older than an hour). Versions this machine built are never touched here."""
    if not root.is_dir():
        return []
    removed = []
    now = time.time()
    for path in root.glob("*.dl-*.partial"):
        try:
            if now - path.stat().st_mtime > 3600:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
    fetched = sorted(p.name for p in root.iterdir() if (p / FETCHED_MARK).exists())
    spared = set(fetched[-spare:]) if spare else set()
    for name in fetched:
        if name not in keep and name not in spared:
            shutil.rmtree(root / name, ignore_errors=True)
            removed.append(name)
    return removed
