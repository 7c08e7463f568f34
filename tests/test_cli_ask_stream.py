"""`cchc ask --json -` as a pipe other tools feed: one JSON object per input line, whatever the bytes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

MAX_LINE = 32 * 1024


def run_ask(stdin: bytes, data_dir, knowledge_dir, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env.update(CCHC_DATA_DIR=str(data_dir), CCHC_KNOWLEDGE_DIR=str(knowledge_dir), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "-"], input=stdin, capture_output=True,
                          env=env, cwd=tmp_path, timeout=300)


def test_bad_bytes_empty_huge_and_nul_lines_each_get_one_json_object(small_settings, tmp_path):
    lines = [
        "hồ sơ nộp trực tuyến ở đâu".encode("utf-8"),
        b"ho so \xff\xfe nop o dau \xc3",                 # invalid UTF-8 (a lone byte, a cut sequence)
        b"",                                             # empty line
        b"   ",                                          # blank line
        b"x" * (MAX_LINE * 4),                           # far over the limit: refused, not read whole
        "tra cứu\x00 hồ sơ\x00".encode("utf-8"),         # NUL bytes
        "xin chào".encode("utf-8"),                      # the stream goes on after all of that
    ]
    proc = run_ask(b"\n".join(lines) + b"\n", small_settings.data_dir, small_settings.knowledge_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    assert b"Traceback" not in proc.stderr and b"Traceback" not in proc.stdout
    out = proc.stdout.decode("utf-8").splitlines()
    assert len(out) == len(lines), out
    objs = [json.loads(line) for line in out]
    answers = [o for o in objs if "answer" in o]
    errors = {o["line"]: o for o in objs if "error" in o}
    assert set(errors) == {3, 4, 5}  # empty, blank and over-long lines: a JSON error each, in place
    assert "dài quá" in errors[5]["error"] and errors[3]["question"] == ""
    assert objs[1]["question"] == "ho so \ufffd\ufffd nop o dau \ufffd"  # replaced, answered
    assert objs[5]["question"] == "tra cứu hồ sơ" and "\x00" not in json.dumps(objs[5])
    assert len(answers) == 4 and all(o["answer"] for o in answers)
    assert objs[-1]["question"] == "xin chào"


def test_a_line_without_final_newline_is_answered(small_settings, tmp_path):
    proc = run_ask("xin chào".encode("utf-8"), small_settings.data_dir, small_settings.knowledge_dir, tmp_path)
    assert proc.returncode == 0
    [line] = proc.stdout.decode("utf-8").splitlines()
    assert json.loads(line)["question"] == "xin chào"
