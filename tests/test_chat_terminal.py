"""`cchc chat` is a channel like the others: piped input is a scripted conversation (one message per line, a
blank line after each reply), memory survives a new process, a TTY gets readline editing and history; `cchc`
alone prints its help, `cchc --version` works, every subcommand's --help says what it does."""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time

import pytest

from bot.cli import _describe, build_parser
from conversation_kit import SCRIPT, assert_script_replies, body_length, knowledge_dir, plain, procedure_settings

PICK_AS_TEXT = {"pick": "2", "vote": "1"}


@pytest.fixture
def data_dir(tmp_path):
    """A private copy of the small index (the chat memory and history are written next to it)."""
    target = tmp_path / "data"
    shutil.copytree(procedure_settings().data_dir, target, ignore=shutil.ignore_patterns("store.*", "chat_history"))
    return target


def chat(run_cli, data_dir, *lines: str) -> list[str]:
    proc = run_cli("chat", data_dir=data_dir, knowledge_dir=knowledge_dir(), stdin="".join(f"{l}\n" for l in lines),
                   timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("\n\n")
    return proc.stdout[:-2].split("\n\n")


def test_piped_script_holds_the_six_turn_conversation(run_cli, data_dir):
    blocks = chat(run_cli, data_dir, *[PICK_AS_TEXT.get(kind, text) for text, kind in SCRIPT])
    assert len(blocks) == len(SCRIPT)  # one block per message, each followed by a blank line
    assert_script_replies([[b] for b in blocks])
    assert max(body_length(b) for b in blocks[:4]) <= 700


def test_fee_follow_up_in_a_new_process_answers_the_procedure_asked_before(run_cli, data_dir):
    [papers] = chat(run_cli, data_dir, "đăng ký tạm trú cần giấy tờ gì")
    assert papers.startswith("Giấy tờ cần nộp để đăng ký tạm trú")
    [fee] = chat(run_cli, data_dir, "còn lệ phí thì sao?")  # a restart between the two turns
    assert plain([fee])[0].startswith("Lệ phí đăng ký tạm trú: 10.000 đồng")


def test_emergency_gets_114_before_anything_else(run_cli, data_dir):
    [block] = chat(run_cli, data_dir, "nhà tôi đang bị cháy, mất hết giấy tờ")
    assert block.startswith("🚨") and block.index("114") < 120


def test_cchc_alone_prints_help_and_version_works(run_cli, tmp_path):
    alone = run_cli(data_dir=tmp_path / "d")
    assert alone.returncode == 0 and "chat" in alone.stdout and "telegram" in alone.stdout
    version = run_cli("--version", data_dir=tmp_path / "d")
    assert version.returncode == 0 and version.stdout.startswith("cchc 0.")
    assert not (tmp_path / "d").exists()  # nothing loaded, nothing created


def test_every_subcommand_help_says_what_it_does():
    parser = build_parser()
    _describe(parser)
    seen = 0
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                helps = {a.dest: a.help for a in action._choices_actions}
                for name, sub in action.choices.items():
                    assert helps.get(name), f"cchc {name} has no help line"
                    assert helps[name] in sub.format_help(), f"cchc … {name} --help does not say what it does"
                    seen += 1
                    stack.append(sub)
    assert seen >= 12


def _read_until(fd: int, needle: str, timeout: float = 120) -> str:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if needle in out.decode("utf-8", "replace"):
                return out.decode("utf-8", "replace")
    raise AssertionError(f"timed out waiting for {needle!r}; got {out.decode('utf-8', 'replace')[-500:]!r}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminal test")
def test_a_terminal_gets_line_editing_and_history(data_dir, tmp_path):
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env.update(CCHC_DATA_DIR=str(data_dir), CCHC_KNOWLEDGE_DIR=str(knowledge_dir()), HF_HUB_OFFLINE="1",
               PYTHONIOENCODING="utf-8", TERM="xterm", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "chat"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=tmp_path, close_fds=True)
    os.close(slave)
    try:
        _read_until(master, "Bạn: ")
        # "bao nhiu", cursor left once, "ê" inserted: "bao nhiêu" — without readline "\x1b[D" would be in the text
        os.write(master, "lệ phí đăng ký tạm trú bao nhiu".encode() + b"\x1b[D" + "ê".encode() + b"\r")
        first = _read_until(master, "Bạn: ")
        assert "10.000 đồng" in first and "^[[D" not in first
        os.write(master, b"\x1b[A\r")  # arrow up: the same question again from the history
        again = _read_until(master, "Bạn: ")
        assert "10.000 đồng" in again
        os.write(master, "thoát\r".encode())
        _read_until(master, "Tạm biệt")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    history = data_dir / "chat_history"
    assert history.stat().st_mode & 0o077 == 0  # questions can be personal
    assert "lệ phí đăng ký tạm trú bao nhiêu" in history.read_text(encoding="utf-8").splitlines()  # as edited
