"""One webhook worker process for tests/test_two_workers.py: `cchc zalo`'s service, configured from the
environment (CCHC_DATABASE_URL, ZALO_BOT_*, CCHC_WEBHOOK_PORT…) like the real command, with an instant stub
assistant instead of the model (the answer is not under test; a question containing "chậm" takes 2 s, so a
test can kill the worker mid-answer). No flood limit: simulated citizens ask faster than people do.

    python tests/webhook_worker.py
"""
from __future__ import annotations

import asyncio
import logging
import time

from bot.store import open_store
from bot.types import Answer, Citation
from bot.zalo import build_service, quiet_http_logs, serve
from index.settings import get_settings

SLOW_MARK = "chậm"


class StubAssistant:
    """Echoes the question, with one citation, so every reply can be traced to the message it answers."""

    def answer(self, question: str, **_: object) -> Answer:
        if SLOW_MARK in question:
            time.sleep(2.0)
        citation = Citation(1, "kh-1", "Kế hoạch CCHC 2026", "I. MỤC TIÊU", "kh.txt", "Nội dung trích.", 1.0)
        return Answer(question, f"Trả lời: {question} [1]", True, [citation], body=f"Trả lời: {question} [1]")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s worker %(levelname)s %(name)s: %(message)s")
    quiet_http_logs()
    settings = get_settings()
    service = build_service(settings, StubAssistant(), open_store(settings), flood_limit=None, workers=4)
    asyncio.run(serve(service))


if __name__ == "__main__":
    main()
