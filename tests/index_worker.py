"""One worker process for tests/test_shared_index.py: the `LiveAssistant` every channel and the console use,
configured from the environment like `cchc telegram|zalo|console` (CCHC_DATA_DIR, CCHC_DATABASE_URL,
CCHC_INDEX_S3_*, CCHC_INDEX_CHECK_SECONDS), with the test's fake embedder instead of the model, behind a small
HTTP API on 127.0.0.1 so the test can ask questions and see which version serves.

    python tests/index_worker.py      # prints {"port": N} once it serves

GET /state → version, reloads, switched_at, last_error, last_download
GET /ask?q=…[&until=PATH] → the answer (found, cited document ids), the version before and after, and times;
    `until` keeps the question in flight (its query waits) until that file exists.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bot.live import LiveAssistant  # noqa: E402
from fake_embedder import FakeEmbedder, hold  # noqa: E402
from index.settings import get_settings  # noqa: E402


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(name)s: %(message)s")
    live = LiveAssistant(get_settings(), embedder=FakeEmbedder())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet: the test reads JSON, not access logs
            pass

        def _send(self, payload: dict) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/state":
                download = live.shared.last_download if live.shared else None
                self._send({"version": live.version, "reloads": live.reloads, "switched_at": live.switched_at,
                            "last_error": live.last_error, "last_download": asdict(download) if download else None})
            elif url.path == "/ask":
                before, started = live.version, time.time()
                until = Path(query["until"]) if query.get("until") else None
                with hold(until=until):
                    answer = live.answer(query["q"])
                self._send({"before": before, "after": live.version, "started": started, "finished": time.time(),
                            "found": answer.found, "docs": [c.doc_id for c in answer.citations],
                            "text": answer.text})
            else:
                self.send_error(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        live.close()


if __name__ == "__main__":
    main()
