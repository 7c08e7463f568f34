"""The terminal as a channel: `cchc chat` over the same conversation layer as Telegram and Zalo.

Interactive (a TTY): line editing and history with the standard `readline` (arrow keys move the cursor
instead of printing `^[[D`; history kept in the data folder, private), key facts in bold. Piped: one message
per input line, each turn's reply followed by one blank line and nothing else on stdout, so a conversation
can be scripted (`printf 'lệ phí đăng ký tạm trú bao nhiêu\\ncòn giấy tờ thì sao?\\n' | cchc chat`).
"""
from __future__ import annotations

import getpass
import os
import re
import sys
from pathlib import Path
from typing import IO, Iterable

from bot import replies
from bot.conversation import Conversation, Incoming, Reply

CHANNEL = "terminal"
EXIT_WORDS = {"thoát", "thoat", "exit", "quit", "/thoat", "/exit"}
HISTORY_FILE = "chat_history"
HISTORY_LINES = 500
BOLD, PLAIN = "\033[1m", "\033[0m"
MAX_LINE_CHARS = 8000  # a pasted essay is cut here; the core refuses long questions politely anyway


def chat_id() -> str:
    """One chat per operating-system user: the memory continues between two runs within the quiet hour."""
    try:
        return f"tty:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name (containers): one shared chat
        return "tty"


def styled(reply: Reply, bold: bool) -> str:
    if not bold or not reply.bold:
        return reply.text
    out, pos = [], 0
    for start, end in reply.bold:
        out += [reply.text[pos:start], BOLD, reply.text[start:end], PLAIN]
        pos = end
    return "".join(out) + reply.text[pos:]


def turn_text(out: list[Reply], bold: bool = False) -> str:
    """A turn's replies as one block without blank lines inside (a blank line ends the turn when piped)."""
    text = "\n".join(styled(r, bold) for r in out)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def _setup_readline(history: Path | None):
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    readline.set_history_length(HISTORY_LINES)
    if history is not None:
        try:
            readline.read_history_file(history)
        except (FileNotFoundError, OSError):
            pass
    return readline


def _save_history(readline, history: Path | None) -> None:
    if readline is None or history is None:
        return
    try:
        history.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(history, os.O_WRONLY | os.O_CREAT, 0o600)  # questions can be personal: owner only
        os.close(fd)
        readline.write_history_file(history)
    except OSError:
        pass


def run_piped(conversation: Conversation, lines: Iterable[str], out: IO[str]) -> int:
    chat = chat_id()
    for raw in lines:
        text = raw.rstrip("\r\n")[:MAX_LINE_CHARS].strip()
        if not text:
            continue
        if text.lower() in EXIT_WORDS:
            break
        out.write(turn_text(conversation.handle_sync(chat, Incoming(text))) + "\n\n")
        out.flush()
    return 0


def run_interactive(conversation: Conversation, data_dir: Path | None, out: IO[str] = sys.stdout) -> int:
    history = data_dir / HISTORY_FILE if data_dir else None
    readline = _setup_readline(history)
    chat = chat_id()
    bold = out.isatty()
    print("Sẵn sàng. Gõ câu hỏi rồi nhấn Enter (mũi tên lên/xuống: câu đã hỏi); gõ “thoát” hoặc Ctrl+D để kết "
          "thúc.\n", file=out)
    try:
        while True:
            try:
                text = input("Bạn: ")[:MAX_LINE_CHARS].strip()
            except (EOFError, KeyboardInterrupt):
                print(f"\n{replies.BYE}", file=out)
                return 0
            if not text:
                continue
            if text.lower() in EXIT_WORDS:
                print(replies.BYE, file=out)
                return 0
            print(f"\nTrợ lý: {turn_text(conversation.handle_sync(chat, Incoming(text)), bold)}\n", file=out,
                  flush=True)
    finally:
        _save_history(readline, history)


def run_chat(assistant, store, data_dir: Path | None = None, stdin: IO[str] | None = None,
             stdout: IO[str] | None = None) -> int:
    """`cchc chat`: interactive on a terminal, scripted when stdin is a pipe or a file."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    conversation = Conversation(assistant, store, CHANNEL, flood_limit=None)
    if stdin.isatty():
        return run_interactive(conversation, data_dir, stdout)
    return run_piped(conversation, stdin, stdout)
