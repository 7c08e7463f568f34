"""Every channel named once: the key the store and logs use, the name officers see, and how replies are drawn.

The console and reports show `label` ("Zalo Bot"), never the key (`zalo_bot`). `max_chars` is the channel's
message limit (Telegram counts UTF-16 code units, hence `utf16`); `buttons` says whether actions become
buttons (Telegram inline keyboard, Messenger quick replies) or numbered text (Zalo, terminal).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    key: str
    label: str
    max_chars: int
    buttons: bool
    bold: bool  # the channel can show bold text
    logger: str  # the module logger its messages go to
    utf16: bool = False  # the limit counts UTF-16 code units (Telegram)

    def length(self, text: str) -> int:
        return len(text.encode("utf-16-le")) // 2 if self.utf16 else len(text)


CHANNELS: dict[str, Channel] = {c.key: c for c in (
    Channel("telegram", "Telegram", 4096, buttons=True, bold=True, logger="bot.telegram", utf16=True),
    Channel("zalo_bot", "Zalo Bot", 2000, buttons=False, bold=False, logger="bot.zalo"),
    Channel("zalo_oa", "Zalo OA", 2000, buttons=False, bold=False, logger="bot.zalo"),
    Channel("messenger", "Messenger", 2000, buttons=True, bold=False, logger="bot.messenger"),
    Channel("terminal", "Terminal", 100_000, buttons=False, bold=True, logger="bot.cli"),
)}


def channel(key: str) -> Channel:
    """The registered channel; an unknown key (a test, a script) gets plain-text defaults under its own name."""
    return CHANNELS.get(key) or Channel(key, key.replace("_", " ").title(), 2000, buttons=False, bold=False,
                                        logger=f"bot.{key}")


def label(key: str) -> str:
    """What officers see for a channel key stored in the database."""
    return channel(key).label


async def serve_webhooks(routes: list, host: str, port: int, max_body: int):
    """Start an aiohttp server for a channel's webhook routes; (runner, bound port). A port that cannot be opened
    raises OSError after cleaning up, so the channel can explain it in its own words."""
    from aiohttp import web

    app = web.Application(client_max_size=max_body)
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    sockets = getattr(site._server, "sockets", None) or []  # port 0 → the one the OS picked
    return runner, (sockets[0].getsockname()[1] if sockets else port)
