"""One parser for everything that is not a question: commands, "nguồn", votes, numbers chosen.

Typed text and channel buttons end up as the same payloads ("cmd:start", "ward:phường An Hải", "src", "up",
"v:12:-1", "pick:1.003197", "person"), which `bot.conversation` acts on; a number means what the chat's last
reply numbered (a choice, or 1 👍, 2 👎, 3 sources).
"""
from __future__ import annotations

from bot.care import fold
from bot.followup import pick_number, ward_of
from bot.memory import ChatMemory

_SOURCE_WORDS = {"nguon", "xem nguon", "/nguon", "nguon trich dan", "trich dan", "/sources", "sources",
                 "nguon dau", "nguon o dau"}
_START_WORDS = {"/start", "bat dau", "start", "/batdau"}
_HELP_WORDS = {"/help", "/trogiup", "tro giup"}


def payload_of(text: str, memory: ChatMemory) -> str:
    """Text that is a command, a vote, "nguồn" or a number chosen: its payload; "" for a question."""
    raw = text.strip()
    folded = " ".join(fold(raw).strip(" .!?\"'“”").split())
    if raw.startswith("/"):
        command, _, arg = raw[1:].partition(" ")
        command = fold(command.split("@")[0])
        if command in ("phuong", "xa", "ward"):
            arg = arg.strip()
            return f"ward:{'xã ' if command == 'xa' and arg and not ward_of(arg) else ''}{arg}"
        if command in ("nguon", "sources"):
            return "src"
        if command in ("canbo", "gapcanbo"):
            return "person"
        return {"start": "cmd:start", "batdau": "cmd:start", "help": "cmd:help", "trogiup": "cmd:help",
                "hotline": "cmd:hotline", "tongdai": "cmd:hotline"}.get(command, "")
    if folded in _START_WORDS:
        return "cmd:start"
    if folded in _HELP_WORDS:
        return "cmd:help"
    if folded in _SOURCE_WORDS:
        return "src"
    emoji = raw.replace("\ufe0f", "").strip()
    if emoji[:1] in ("👍", "👎") and len(emoji.strip("👍👎\U0001F3FB\U0001F3FC\U0001F3FD\U0001F3FE\U0001F3FF")) == 0:
        return "up" if emoji[0] == "👍" else "down"
    n = pick_number(raw)
    if n is None:
        return ""
    if memory.options:
        return f"pick:{memory.options[n - 1]['code']}" if n <= len(memory.options) else ""
    if raw.strip(" .").isdigit():
        if memory.actions:
            return memory.actions[n - 1] if n <= len(memory.actions) else ""
        return {1: "up", 2: "down"}.get(n, "")
    return ""
