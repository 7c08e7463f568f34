"""The Zalo OA token pair in the shared database: workers refresh it once between them and never spend a dead
refresh token (it is single use: the second worker to refresh must take the pair the first one stored).

A real throwaway PostgreSQL and the fake Zalo OAuth endpoint on 127.0.0.1."""
from __future__ import annotations

import asyncio

import httpx

from state.engine import make_engine
from state.tokens import DbTokenFile
from bot.zalo import token_store
from bot.zalo_oa_auth import OATokenManager
from conftest import make_settings
from fake_zalo import FakeZaloOA


def test_workers_share_the_oa_token_pair_and_refresh_it_once(postgres_url, tmp_path):
    settings = make_settings(tmp_path / "k", tmp_path / "d", database_url=postgres_url)
    assert isinstance(token_store(settings), DbTokenFile)  # CCHC_DATABASE_URL set: not the JSON file
    engine = make_engine(postgres_url)

    async def scenario() -> None:
        fake = await FakeZaloOA().start()
        try:
            async with httpx.AsyncClient() as http:
                def worker() -> OATokenManager:
                    return OATokenManager(app_id=fake.app_id, app_secret=fake.app_secret, oauth_base_url=fake.url,
                                          token_file=DbTokenFile(engine), env_access_token="access-0",
                                          env_refresh_token="refresh-0", http=http)

                a, b = worker(), worker()
                fake.expire_access_token()  # both workers see "access-0" refused at the same moment
                got = await asyncio.gather(a.refresh(stale="access-0"), b.refresh(stale="access-0"))
                assert got[0] == got[1] == fake.access_token and len(fake.refreshes) == 1
                assert await worker().access_token() == fake.access_token  # a new worker: the stored pair wins

                fake.expire_access_token()
                await a.refresh(stale=got[0])  # A refreshes; B still holds the pair A has just spent
                assert await b.refresh(stale=got[1]) == fake.access_token
                assert len(fake.refreshes) == 2 and all(r["refresh_token"] != "refresh-0" for r in fake.refreshes[1:])
        finally:
            await fake.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        engine.dispose()
