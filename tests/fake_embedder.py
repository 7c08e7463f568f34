"""A deterministic embedder for tests that exercise index plumbing, not answer quality: a hashed bag of words
(and word pairs) in 64 dimensions, no model, milliseconds to build an index. `hold()` makes this thread's next
queries wait (for a number of seconds, or until a file exists) so a test can keep a question in flight."""
from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_HOLD = threading.local()


@contextmanager
def hold(seconds: float = 0.0, until: Path | None = None, limit: float = 60.0):
    """Queries embedded by this thread inside the block wait `seconds`, then until `until` exists (at most `limit`)."""
    _HOLD.seconds, _HOLD.until, _HOLD.limit = seconds, until, limit
    try:
        yield
    finally:
        _HOLD.seconds, _HOLD.until = 0.0, None


class FakeEmbedder:
    model_id = "test/hashed-words-64"
    dim = 64

    def _vector(self, text: str) -> np.ndarray:
        words = re.findall(r"\w+", text.lower())
        v = np.zeros(self.dim, np.float32)
        for token in words + [a + " " + b for a, b in zip(words, words[1:])]:
            h = hashlib.blake2b(token.encode(), digest_size=4).digest()
            v[h[0] % self.dim] += 1.0 if h[1] & 1 else -1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        seconds, until = getattr(_HOLD, "seconds", 0.0), getattr(_HOLD, "until", None)
        if seconds:
            time.sleep(seconds)
        if until is not None:
            deadline = time.monotonic() + getattr(_HOLD, "limit", 60.0)
            while not Path(until).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
