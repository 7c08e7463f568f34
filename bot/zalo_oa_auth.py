"""Zalo Official Account access tokens: refresh before they lapse, never lose a refresh token.

An OA access token lives about 25 hours; the refresh token lives three months and is single use:
once Zalo answers a refresh, the old refresh token is dead. So the new pair is written to disk
(temporary file + `os.replace`, mode 0600, in the data dir) *before* it is used — a crash right
after a refresh must not strand the OA without a valid refresh token.

On start the stored pair wins over `ZALO_OA_ACCESS_TOKEN` / `ZALO_OA_REFRESH_TOKEN`, because the
environment still holds the first pair long after it was spent. The file remembers a fingerprint
of the environment pair it grew from; when the operator puts a *new* pair in the environment
(re-authorised the app), the fingerprint differs and the environment wins again.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

TOKEN_FILE = "zalo_oa_tokens.json"
REFRESH_PATH = "/v4/oa/access_token"
REFRESH_MARGIN_S = 300.0  # refresh this long before the access token is due to expire


class OAAuthError(RuntimeError):
    """The OA token could not be refreshed (bad app secret, spent or revoked refresh token, network)."""


@dataclass
class OATokens:
    access_token: str
    refresh_token: str
    expires_at: float | None = None  # unix time; None when unknown (token taken from the environment)
    env_fingerprint: str | None = None  # which environment pair this chain of refreshes started from
    updated_at: float | None = None


def env_fingerprint(access_token: str | None, refresh_token: str | None) -> str | None:
    """A short hash that tells whether the environment pair changed, without storing it twice."""
    if not access_token and not refresh_token:
        return None
    raw = f"{access_token or ''}\n{refresh_token or ''}".encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:16]


class TokenFile:
    """The token pair on disk, JSON, replaced atomically and readable by the service user only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> OATokens | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("Zalo OA token file %s is unreadable (%s); falling back to the environment", self.path, exc)
            return None
        if not data.get("access_token") and not data.get("refresh_token"):
            return None
        return OATokens(access_token=data.get("access_token", ""), refresh_token=data.get("refresh_token", ""),
                        expires_at=data.get("expires_at"), env_fingerprint=data.get("env_fingerprint"),
                        updated_at=data.get("updated_at"))

    def save(self, tokens: OATokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(tokens), f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        try:  # make the rename itself durable
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
            pass


class OATokenManager:
    """Hands out a valid access token; refreshes once for all callers when it is invalid or due."""

    def __init__(self, *, app_id: str, app_secret: str, oauth_base_url: str, token_file: TokenFile,
                 env_access_token: str | None, env_refresh_token: str | None, http: httpx.AsyncClient,
                 clock=time.time) -> None:
        self.app_id = app_id
        self._app_secret = app_secret
        self.refresh_url = oauth_base_url.rstrip("/") + REFRESH_PATH
        self.file = token_file
        self._http = http
        self._clock = clock
        self._lock = asyncio.Lock()
        self.tokens = self._initial(env_access_token, env_refresh_token)

    def _initial(self, env_access: str | None, env_refresh: str | None) -> OATokens:
        fingerprint = env_fingerprint(env_access, env_refresh)
        stored = self.file.load()
        if stored and (fingerprint is None or stored.env_fingerprint in (None, fingerprint)):
            log.info("Zalo OA: using the token pair stored in %s", self.file.path)
            if stored.env_fingerprint is None:
                stored.env_fingerprint = fingerprint
            return stored
        if stored:
            log.info("Zalo OA: the environment holds a new token pair; it replaces the stored one")
        return OATokens(access_token=env_access or "", refresh_token=env_refresh or "", expires_at=None,
                        env_fingerprint=fingerprint)

    async def access_token(self) -> str:
        """The current access token, refreshed first when it is missing or about to expire."""
        t = self.tokens
        due = t.expires_at is not None and t.expires_at - REFRESH_MARGIN_S <= self._clock()
        if (not t.access_token or due) and t.refresh_token:
            return await self.refresh(stale=t.access_token)
        return t.access_token

    async def refresh(self, stale: str | None = None) -> str:
        """Exchange the refresh token for a new pair, persist it, then return the new access token.

        `stale` is the access token the caller saw rejected: if another task already replaced it,
        the newer token is returned without spending the refresh token again.
        """
        async with self._lock:
            if stale is not None and self.tokens.access_token and self.tokens.access_token != stale:
                return self.tokens.access_token
            exclusive = getattr(self.file, "exclusive", None)  # workers sharing a database take turns
            async with exclusive() if exclusive else contextlib.nullcontext():
                newer = await asyncio.to_thread(self.file.load) if exclusive else None
                if (newer and newer.refresh_token != self.tokens.refresh_token
                        and newer.env_fingerprint == self.tokens.env_fingerprint):
                    log.info("Zalo OA: another worker refreshed the token; using its pair")
                    self.tokens = newer
                    return newer.access_token
                return await self._exchange()

    async def _exchange(self) -> str:
        """The refresh call itself (under the locks): new pair stored before it is used."""
        if not self.tokens.refresh_token:
            raise OAAuthError("no refresh token: set ZALO_OA_REFRESH_TOKEN")
        try:
            resp = await self._http.post(
                self.refresh_url,
                data={"refresh_token": self.tokens.refresh_token, "app_id": self.app_id,
                      "grant_type": "refresh_token"},
                headers={"secret_key": self._app_secret},
            )
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OAAuthError(f"token refresh failed: {type(exc).__name__}") from exc
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if resp.status_code != 200 or not access or not refresh:
            raise OAAuthError(
                f"token refresh refused (HTTP {resp.status_code}, error {data.get('error')}: "
                f"{data.get('error_description') or data.get('message') or data.get('error_name')}); "
                "re-authorise the OA and set ZALO_OA_ACCESS_TOKEN / ZALO_OA_REFRESH_TOKEN")
        try:
            expires_in = float(data.get("expires_in") or 0)
        except (TypeError, ValueError):
            expires_in = 0.0
        now = self._clock()
        new = OATokens(access_token=access, refresh_token=refresh,
                       expires_at=now + expires_in if expires_in > 0 else None,
                       env_fingerprint=self.tokens.env_fingerprint, updated_at=now)
        try:
            self.file.save(new)  # before use: the old refresh token is already spent
        except OSError:
            # Keep serving with the pair in memory; the operator must fix the data dir before a restart.
            log.critical("Zalo OA: could not write %s; the new refresh token lives in memory only",
                         self.file.path, exc_info=True)
        self.tokens = new
        log.info("Zalo OA: access token refreshed (valid %.0f h)", expires_in / 3600 if expires_in else 0)
        return new.access_token
