"""Serve an ASGI app (the console) on a free port of 127.0.0.1 in a thread, for tests that talk real HTTP."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn


def serve(app, what: str = "console") -> tuple[str, Callable[[], None]]:
    """(base URL, stop) once the server accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), f"{what} did not start"
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop
