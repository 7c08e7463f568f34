"""Many workers, one live index: versions published once to object storage (a real SeaweedFS on 127.0.0.1), the
pointer in a real PostgreSQL, every worker switching within its poll interval and back on rollback.

The workers are real processes (tests/index_worker.py: the `LiveAssistant` every channel uses, configured from
the environment, each with its own empty data dir), answering real questions with a fake embedder (the
plumbing is under test, not the model). A citizen's question in flight while a worker switches finishes on the
version it started with; a version whose download does not match its published hashes is never served.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from conftest import SMALL_GUIDE, SMALL_PLAN, make_settings
from fake_embedder import FakeEmbedder
from seaweed import seaweed_s3  # noqa: F401 - fixture

WORKER = Path(__file__).resolve().parent / "index_worker.py"
CHECK_S = 1.0  # the workers' poll interval here (10 s by default)
SWITCH_BUDGET_S = CHECK_S + 15  # one poll, plus download and load on two busy cores
NEW_DOC = "huong-dan-cap-ban-sao"
QUESTION = "Xin cấp bản sao trích lục khai sinh ở đâu?"  # only the new document answers it
NEW_GUIDE = """\
---
id: huong-dan-cap-ban-sao
title: Hướng dẫn cấp bản sao trích lục hộ tịch
type: hướng dẫn
issuer: Nhóm Trợ lý CCHC (biên soạn)
year: 2026
---

# Hướng dẫn cấp bản sao trích lục hộ tịch

## Nơi cấp bản sao trích lục

Người dân xin cấp bản sao trích lục khai sinh, kết hôn, khai tử tại Ủy ban nhân dân cấp xã nơi đã đăng ký hộ tịch, hoặc nộp trực tuyến.

## Thời hạn trả bản sao trích lục

Bản sao trích lục hộ tịch được trả ngay trong ngày làm việc khi hồ sơ nhận trước 15 giờ.
"""


def knowledge(root: Path) -> Path:
    (root / "plans").mkdir(parents=True)
    (root / "guidance").mkdir()
    (root / "plans" / "kh-cchc-tan-an-2026.md").write_text(SMALL_PLAN, encoding="utf-8")
    (root / "guidance" / "huong-dan-nop-ho-so.md").write_text(SMALL_GUIDE, encoding="utf-8")
    return root


def publisher_settings(tmp_path: Path, postgres_url: str, s3=None, bucket: str = "cchc-index"):
    extra = {}
    if s3 is not None:
        extra = dict(index_s3_url=s3.url, index_s3_bucket=bucket, index_s3_access_key=s3.access_key,
                     index_s3_secret_key=s3.secret_key)
    return make_settings(knowledge(tmp_path / "knowledge"), tmp_path / "publisher", database_url=postgres_url,
                         **extra)


class WorkerProcess:
    def __init__(self, name: str, env: dict, log: Path) -> None:
        self.name, self.log = name, log
        self._out = open(log, "w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, str(WORKER)], env=env, cwd=log.parent, text=True,
                                     stdout=subprocess.PIPE, stderr=self._out)
        line = self.proc.stdout.readline()  # {"port": N} once it serves (the index is downloaded by then)
        if not line:
            self.proc.wait(10)
            pytest.fail(f"worker {name} did not start: {log.read_text(encoding='utf-8')[-3000:]}")
        self.url = f"http://127.0.0.1:{json.loads(line)['port']}"

    def state(self) -> dict:
        return httpx.get(f"{self.url}/state", timeout=10).json()

    def ask(self, question: str, until: Path | None = None) -> dict:
        params = {"q": question, **({"until": str(until)} if until else {})}
        return httpx.get(f"{self.url}/ask", params=params, timeout=90).json()

    def wait_for(self, version: str, since: float, budget: float) -> float:
        """Seconds from `since` (wall time of the publish) until this worker serves `version`."""
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            state = self.state()
            if state["version"] == version:
                return state["switched_at"] - since
            time.sleep(0.1)
        pytest.fail(f"worker {self.name} still serves {self.state()} {budget:.0f} s after {version} was published")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._out.close()


def test_workers_follow_the_database_pointer_to_versions_in_object_storage(postgres_url, seaweed_s3, tmp_path):
    from index.build import build_index
    from index.refresh import refresh, rollback
    from index.shared import attach, detach

    settings = publisher_settings(tmp_path, postgres_url, seaweed_s3)
    embedder = FakeEmbedder()
    shared = attach(settings)
    workers: list[WorkerProcess] = []
    try:
        a = build_index(settings, embedder=embedder, show_progress=False).version
        upload_a = shared.last_upload
        assert upload_a is not None and not upload_a.skipped and upload_a.bytes > 0

        env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "ZALO_", "TELEGRAM_"))}
        env.update(seaweed_s3.env("cchc-index"), CCHC_DATABASE_URL=postgres_url,
                   CCHC_KNOWLEDGE_DIR=str(settings.knowledge_dir), CCHC_INDEX_CHECK_SECONDS=str(CHECK_S))
        for name in ("w1", "w2"):
            (tmp_path / name).mkdir()
            workers.append(WorkerProcess(name, {**env, "CCHC_DATA_DIR": str(tmp_path / name / "data")},
                                         tmp_path / name / "worker.log"))
        w1, w2 = workers
        for w in workers:  # each downloaded A into its own empty data dir, and answers from it
            state = w.state()
            assert state["version"] == a and state["last_download"]["bytes"] == upload_a.bytes
            before = w.ask(QUESTION)
            assert not before["found"] and NEW_DOC not in before["docs"]

        # A citizen's question is in flight on w1 (its query waits for `release`) while B is published.
        release = tmp_path / "release"
        in_flight: dict = {}
        asking = threading.Thread(target=lambda: in_flight.update(w1.ask(QUESTION, until=release)))
        asking.start()
        time.sleep(0.5)
        (settings.knowledge_dir / "guidance" / f"{NEW_DOC}.md").write_text(NEW_GUIDE, encoding="utf-8")
        report = refresh(settings, embedder=embedder, show_progress=False, run_eval=False)
        published_at = shared.state()[1] / 1e9  # when the row moved (the database's pointer stamp)
        b = report.version
        assert report.published and b != a
        upload_b = shared.last_upload
        switch_b = {w.name: w.wait_for(b, published_at, SWITCH_BUDGET_S) for w in workers}
        after = {w.name: w.ask(QUESTION) for w in workers}  # w1 answers this while the first one still waits
        assert all(r["found"] and NEW_DOC in r["docs"] for r in after.values()), after
        assert asking.is_alive()
        release.touch()
        asking.join(30)
        assert in_flight["before"] == a and in_flight["after"] == b  # it started on A; B served meanwhile
        assert in_flight["finished"] > w1.state()["switched_at"]
        assert not in_flight["found"] and NEW_DOC not in in_flight["docs"]  # … and it was answered from A
        assert in_flight["text"]  # a complete answer, not an error

        rolled = rollback(settings)
        rolled_at = shared.state()[1] / 1e9
        assert (rolled.from_version, rolled.to_version) == (b, a)
        assert shared.last_upload.skipped  # A is in the bucket already: a rollback only moves the pointer
        switch_back = {w.name: w.wait_for(a, rolled_at, SWITCH_BUDGET_S) for w in workers}
        for w in workers:
            again = w.ask(QUESTION)
            assert not again["found"] and NEW_DOC not in again["docs"]

        with sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://")).connect() as conn:
            row = conn.execute(sa.text("SELECT version, published_by FROM index_pointer")).one()
            moves = conn.execute(sa.text("SELECT action, version, previous FROM index_history ORDER BY id")).all()
        assert row.version == a and "@" in row.published_by
        assert [tuple(m) for m in moves] == [("publish", a, None), ("publish", b, a), ("rollback", a, b)]
        print(f"\nupload A: {upload_a.files} files, {upload_a.bytes / 1024:.0f} KB, {upload_a.seconds:.2f} s; "
              f"B: {upload_b.bytes / 1024:.0f} KB, {upload_b.seconds:.2f} s; download on a worker: "
              f"{w1.state()['last_download']['seconds']:.2f} s")
        print(f"switch to B after publish (poll {CHECK_S:.0f} s): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in switch_b.items())
              + "; back to A after rollback: " + ", ".join(f"{k} {v:.2f} s" for k, v in switch_back.items()))
    finally:
        for w in workers:
            w.stop()
        detach(settings)


def wait_until(condition, budget: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < budget:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"{what} not within {budget:.0f} s")


def test_shared_data_dir_idle_worker_follows_the_row_not_the_file(postgres_url, tmp_path):
    """No object storage: every worker reads the shared CCHC_DATA_DIR; the database row is the only pointer."""
    from bot.live import LiveAssistant
    from index import store
    from index.build import build_index
    from index.refresh import refresh
    from index.shared import attach, detach

    settings = publisher_settings(tmp_path, postgres_url)
    embedder = FakeEmbedder()
    shared = attach(settings)
    worker = None
    try:
        # A worker started before anything was published says what to do, and builds nothing on its own
        # (N workers starting together would each build and publish one).
        with pytest.raises(store.IndexMissing, match="cchc index build"):
            LiveAssistant(settings, embedder=embedder, build_if_missing=True)
        assert store.list_versions(settings.data_dir) == []
        a = build_index(settings, embedder=embedder, show_progress=False).version
        worker = LiveAssistant(make_settings(settings.knowledge_dir, settings.data_dir, database_url=postgres_url),
                               embedder=embedder, check_seconds=0.2)
        assert worker.version == a and not worker.answer(QUESTION).found
        (settings.knowledge_dir / "guidance" / f"{NEW_DOC}.md").write_text(NEW_GUIDE, encoding="utf-8")
        b = refresh(settings, embedder=embedder, show_progress=False, run_eval=False).version
        # Nobody asks anything: the watcher alone switches the idle worker.
        wait_until(lambda: worker.version == b, 5, "idle worker switching to the new version")
        assert NEW_DOC in [c.doc_id for c in worker.answer(QUESTION).citations]

        store.write_local_pointer(settings.data_dir, a)  # a stale CURRENT file (an old tool, a copied folder)
        time.sleep(0.6)
        assert worker.version == b and store.current_version(settings.data_dir) == b

        shared.pointer.write("20990101T000000000000Z", "test", "publish")  # a version the shared folder lacks
        wait_until(lambda: worker.last_error is not None, 5, "the missing version being reported")
        assert worker.version == b and "không có trong" in worker.last_error
        assert worker.answer(QUESTION).found  # still answering from B
    finally:
        if worker is not None:
            worker.close()
        detach(settings)


def test_a_download_that_does_not_match_its_hashes_is_never_served(postgres_url, seaweed_s3, tmp_path):
    """The console's path (check, then an officer publishes) uploads the version; a worker that downloads a
    tampered file refuses the version and keeps answering from the one it has."""
    from minio import Minio

    from bot.live import LiveAssistant
    from index import store
    from index.build import build_index
    from index.refresh import prepare, publish_prepared
    from index.shared import attach, detach

    bucket = "cchc-tamper"
    settings = publisher_settings(tmp_path, postgres_url, seaweed_s3, bucket=bucket)
    embedder = FakeEmbedder()
    shared = attach(settings)
    worker_settings = make_settings(settings.knowledge_dir, tmp_path / "worker", database_url=postgres_url,
                                    index_s3_url=seaweed_s3.url, index_s3_bucket=bucket,
                                    index_s3_access_key=seaweed_s3.access_key,
                                    index_s3_secret_key=seaweed_s3.secret_key)
    worker = None
    try:
        a = build_index(settings, embedder=embedder, show_progress=False).version
        worker = LiveAssistant(worker_settings, embedder=embedder, check_seconds=3600)  # checks when told
        assert worker.version == a
        (settings.knowledge_dir / "guidance" / f"{NEW_DOC}.md").write_text(NEW_GUIDE, encoding="utf-8")
        questions = tmp_path / "eval.yaml"
        questions.write_text("- id: q1\n  question: Nộp hồ sơ trực tuyến thế nào?\n"
                             "  expected_docs: [huong-dan-nop-ho-so]\n", encoding="utf-8")
        b = prepare(settings, embedder=embedder, eval_file=questions).candidate
        assert b is not None
        publish_prepared(settings, b, published_by="can-bo-1")
        assert shared.pointer.read().published_by == "can-bo-1"

        client = Minio(seaweed_s3.url.split("//")[1], access_key=seaweed_s3.access_key,
                       secret_key=seaweed_s3.secret_key, secure=False, region="us-east-1")
        key = f"indexes/{b}/chunks.jsonl"
        original = client.get_object(bucket, key).read()
        forged = original.replace("trích lục".encode(), "trich luc".encode())
        import io

        client.put_object(bucket, key, io.BytesIO(forged), len(forged))
        worker.maybe_reload(wait=True)
        assert worker.version == a and "không khớp mã băm" in (worker.last_error or "")
        root = store.indexes_dir(worker_settings.data_dir)
        assert sorted(p.name for p in root.iterdir()) == [a]  # nothing of B kept, no partial download
        assert not worker.answer(QUESTION).found  # still A's answer

        client.put_object(bucket, key, io.BytesIO(original), len(original))  # the storage is repaired
        worker._failed = None  # (instead of waiting a minute for the retry)
        worker.maybe_reload(wait=True)
        assert worker.version == b and worker.answer(QUESTION).found
    finally:
        if worker is not None:
            worker.close()
        detach(worker_settings)
        detach(settings)


def test_workers_keep_answering_while_the_database_is_down(tmp_path):
    """A database outage stops nobody: workers keep the version they serve, and follow again once it is back."""
    from state.migrate import upgrade_url
    from bot.live import LiveAssistant
    from index.build import build_index
    from index.refresh import refresh
    from index.shared import attach, detach
    from pg_cluster import start_cluster

    cluster = start_cluster()  # its own server: this test stops it
    settings = worker = None
    try:
        url = cluster.url(cluster.create_database())
        upgrade_url(url)
        settings = publisher_settings(tmp_path, url)
        embedder = FakeEmbedder()
        attach(settings)
        a = build_index(settings, embedder=embedder, show_progress=False).version
        worker = LiveAssistant(make_settings(settings.knowledge_dir, settings.data_dir, database_url=url),
                               embedder=embedder, check_seconds=0.2)
        before = worker.answer("Tra cứu tình trạng hồ sơ bằng gì?").text
        cluster.stop()
        time.sleep(1.0)  # several polls fail meanwhile
        assert worker.answer("Tra cứu tình trạng hồ sơ bằng gì?").text == before and worker.version == a
        cluster.start()
        (settings.knowledge_dir / "guidance" / f"{NEW_DOC}.md").write_text(NEW_GUIDE, encoding="utf-8")
        b = refresh(settings, embedder=embedder, show_progress=False, run_eval=False).version
        wait_until(lambda: worker.version == b, 10, "switching after the database came back")
    finally:
        if worker is not None:
            worker.close()
        if settings is not None:
            detach(settings)
        cluster.remove()
