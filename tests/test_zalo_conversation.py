"""The scripted six-turn conversation on Zalo Bot and Zalo OA, over real HTTP against the fake Zalo servers, with
the real assistant over the small procedure index: the same replies as every channel (numbers instead of
buttons), and a restart of the service between two turns keeps the chat's memory (it is in the store)."""
from __future__ import annotations

import pytest

from bot import replies
from conversation_kit import SCRIPT, assert_script_replies, body_length, procedure_assistant
from test_zalo import arun, ask_bot, ask_oa, store, zalo_stack  # noqa: F401 - fixtures

AS_TEXT = {"pick": "2", "vote": "1"}  # Zalo has no buttons: the citizen types the number shown


async def run_script(say, restart_after: int, stack_factory) -> list[list[str]]:
    turns: list[list[str]] = []
    for n, (text, kind) in enumerate(SCRIPT):
        if n == restart_after:
            await stack_factory.restart()
        turns.append(await say(stack_factory.stack, AS_TEXT.get(kind, text)))
    return turns


class Restartable:
    """One zalo_stack at a time; `restart` stops it and starts a fresh service on the same store."""

    def __init__(self, assistant, store, data_dir, **kw) -> None:
        self.args, self.kw = (assistant, store, data_dir), kw
        self._cm = None
        self.stack = None

    async def start(self):
        self._cm = zalo_stack(*self.args, **self.kw)
        self.stack = await self._cm.__aenter__()
        return self

    async def restart(self):
        await self._cm.__aexit__(None, None, None)
        await self.start()

    async def stop(self):
        await self._cm.__aexit__(None, None, None)


@pytest.mark.parametrize("api", ["bot", "oa"])
def test_scripted_six_turn_conversation_survives_a_restart(api, store, tmp_path):
    assistant = procedure_assistant()

    async def say(stack, text):
        if api == "bot":
            before = len(stack.bot.messages_to("chat-script"))
            sent = await ask_bot(stack, "chat-script", text)
            return stack.bot.messages_to("chat-script")[before:] or sent
        before = len(stack.oa.messages_to("user-script"))
        sent = await ask_oa(stack, "user-script", text)
        return stack.oa.messages_to("user-script")[before:] or sent

    async def scenario():
        stacks = await Restartable(assistant, store, tmp_path, bot=api == "bot", oa=api == "oa").start()
        try:
            return await run_script(say, 2, stacks)
        finally:
            await stacks.stop()

    turns = arun(scenario(), timeout=120)
    assert_script_replies(turns)
    assert turns[0][0].endswith(replies.FOOTER)  # the help footer on the first reply of the day only
    assert replies.FOOTER not in turns[1][0] and replies.CHOICE_HINT in turns[2][0]
    assert max(body_length(t[0]) for t in turns[:4]) <= 700
    assert store.stats().total == 5  # questions, the choice, the pick and the emergency; a vote and "nguồn" are not


def test_zalo_start_and_bat_dau_greet(store, tmp_path):
    async def scenario():
        async with zalo_stack(procedure_assistant(), store, tmp_path) as stack:
            return (await ask_bot(stack, "chat-hi", "/start")), (await ask_bot(stack, "chat-hi2", "Bắt đầu"))

    start, bat_dau = arun(scenario())
    assert start == [replies.START] == bat_dau
