"""The overview dashboard: charts drawn on the server as inline SVG from the real store, behind login,
for 7/30/90 days; and the chart helper itself (one bar per day with data, accessible titles)."""
from __future__ import annotations

import re
import time

import pytest

from bot.console import charts
from bot.console.dashboard import vn_today
from test_console_http import EVAL_FILE, Client, start_console

DAY = 24 * 3600


@pytest.fixture(scope="module")
def console(tmp_path_factory, assistant, index_settings, built_index):
    c = start_console(tmp_path_factory.mktemp("console-dashboard"), assistant, index_settings, EVAL_FILE)
    store, now = c.store, time.time()

    def log(channel, question, found, age_days, ms, kind="answer"):
        qid = store.log_question(channel, f"u-{question}-{age_days}", question, "…", found, [], ms, kind=kind)
        store._execute("UPDATE questions SET created_at = ? WHERE id = ?", (now - age_days * DAY, qid))
        return qid

    # three days with questions in the last week, one 20 days ago, one 60 days ago
    for age, n in ((0, 3), (1, 1), (3, 2)):
        for i in range(n):
            log("zalo_bot" if i % 2 else "telegram", f"Lệ phí trước bạ xe máy {i}?", True, age, 400.0 + 100 * i)
    log("telegram", "Làm căn cước ở đâu?", False, 0, 900.0, kind="not_found")
    log("messenger", "Ở đâu làm căn cước?", False, 20, 1500.0, kind="not_found")
    log("telegram", "Giờ làm việc của bộ phận một cửa?", True, 60, 300.0)
    store.record_vote(log("telegram", "Phí làm hộ chiếu?", True, 1, 350.0), "telegram", "u-v", -1)
    yield c
    c.stop()


@pytest.fixture
def officer(console):
    client = Client(console.url)
    assert client.login().status_code == 303
    yield client
    client.http.close()


def section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"')[1].split("</section>")[0]


def test_the_dashboard_needs_a_login(console):
    response = Client(console.url).get("/overview?days=7")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_questions_per_day_chart_has_one_bar_per_day_with_data(officer):
    page = officer.get("/overview?days=7")
    assert page.status_code == 200
    svg = section(page.text, "chart-questions")
    assert svg.count('<svg class="chart-svg"') == 1 and 'role="img"' in svg and "<title" in svg
    bars = re.findall(r'<g class="bar" data-day="([0-9-]+)">', svg)
    today = vn_today()
    expected = sorted({(today.fromordinal(today.toordinal() - age)).isoformat() for age in (0, 1, 3)})
    assert sorted(bars) == expected  # days without questions have no bar; older days are outside 7 days
    assert "Telegram" in svg and "Zalo Bot" in svg and "zalo_bot" not in svg  # legend with channel names
    assert ": 4 câu (" in svg  # today's bar title: three plan questions and one not found
    figures = section(page.text + "</section>", "figures")
    assert "8</b> câu hỏi" in figures and "12,5%" in figures  # one of eight not found


def test_periods_change_what_is_counted(officer):
    week = officer.get("/overview?days=7").text
    month = officer.get("/overview?days=30").text
    quarter = officer.get("/overview?days=90").text
    count = lambda html: len(re.findall(r'<g class="bar"', section(html, "chart-questions")))  # noqa: E731
    assert (count(week), count(month), count(quarter)) == (3, 4, 5)
    unanswered_week = week.split('id="most-not-found"')[1].split("</ol>")[0]
    assert "<b>1</b>" in unanswered_week and "cách hỏi" not in unanswered_week  # the 20-day-old wording is out
    unanswered = month.split('id="most-not-found"')[1].split("</ol>")[0]
    assert "2 cách hỏi" in unanswered and "<b>2</b>" in unanswered  # same question, other words: one group
    assert section(month, "chart-not-found").count('class="point"') >= 2
    latency = section(month, "chart-latency")
    assert "Trung vị (p50)" in latency and "giây" in latency
    assert "Chưa hài lòng" in section(week, "chart-votes")


def test_bar_chart_draws_only_days_with_values_and_escapes_text():
    svg = charts.bar_chart("Câu <hỏi>", ["2026-12-01", "2026-12-02", "2026-12-03"],
                           [("A", [1, 0, 2]), ("B", [0, 0, 3])], desc="mô tả")
    assert svg.count('<g class="bar"') == 2 and 'data-day="2026-12-02"' not in svg
    assert "Câu &lt;hỏi&gt;" in svg and "<hỏi>" not in svg
    assert "03/12: 5 (A 2, B 3)" in svg  # the bar's title: day, total, per series
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"', svg.split("</desc>")[1])]
    assert max(heights) > 2 * min(h for h in heights if h > 0)


def test_line_chart_breaks_at_missing_days():
    svg = charts.line_chart("Tỉ lệ", ["d1", "d2", "d3", "d4", "d5"], [("x", [0.1, 0.2, None, 0.3, 0.4])])
    assert svg.count("<polyline") == 2 and svg.count('class="point"') == 4
