"""scripts/chaos.py runs its quick fault cases end to end and reports them; it cannot rot unnoticed."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
QUICK = ["refresh-killed-validating", "disk-full-refresh", "inbox-poison"]
# The channel cases of scripts/chaos_cases_channels.py that are quick too.
QUICK_CHANNELS = ["channel-disk-full", "channel-flood-long-questions", "channel-telegram-replay"]


def run_chaos(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "chaos.py"), *args], capture_output=True,
                          text=True, encoding="utf-8", env=env, cwd=cwd, timeout=600)


def table_rows(stdout: str) -> dict[str, str]:
    table = stdout.split("\nca ", 1)[1]
    return {line.split()[0]: line for line in table.splitlines()[1:] if line.strip() and not line[0].isdigit()}


def test_quick_chaos_keeps_a_validated_index_serving_and_loses_nothing(tmp_path):
    done = run_chaos("--quick", "--budget", "400", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = table_rows(done.stdout)
    assert sorted(rows) == sorted(QUICK + QUICK_CHANNELS)
    for name in QUICK:
        assert " ✓ " in rows[name] and "không mất gì" in rows[name], rows[name]
    for name in QUICK_CHANNELS:  # a log line lost on a full disk is counted, never an answer
        assert " ✓ " in rows[name] and "không mất" in rows[name], rows[name]
    assert "quay lại →" in rows["refresh-killed-validating"] and "đã phục vụ trước đó" in rows["refresh-killed-validating"]
    assert "Hết dung lượng đĩa" in rows["disk-full-refresh"]
    assert "3 tệp độc vào failed/ (3 lý do)" in rows["inbox-poison"]
    total = len(QUICK) + len(QUICK_CHANNELS)
    assert f"{total}/{total} ca đạt" in done.stdout


def test_cases_from_other_modules_are_run_and_a_failing_one_fails_the_run(tmp_path):
    (tmp_path / "chaos_cases_demo.py").write_text(textwrap.dedent("""
        from chaos import Case, Outcome

        def fine(ctx):
            assert ctx.workdir("demo").is_dir()
            return Outcome("phiên bản đã kiểm tra", "không mất gì", True)

        CASES = [Case("demo-ok", fine, quick=True),
                 ("demo-lost", lambda ctx: {"served": "x", "lost": "1 câu hỏi", "ok": False})]
    """), encoding="utf-8")
    listed = run_chaos("--list", "--cases-from", str(tmp_path), cwd=tmp_path)
    assert "demo-ok (quick)" in listed.stdout and "demo-lost" in listed.stdout
    done = run_chaos("--only", "demo-ok", "demo-lost", "--cases-from", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    rows = table_rows(done.stdout)
    assert " ✓ " in rows["demo-ok"] and " ✗ " in rows["demo-lost"] and "1 câu hỏi" in rows["demo-lost"]
    assert "Không đạt: demo-lost" in done.stdout
