#!/usr/bin/env python3
"""Full rebuild vs incremental refresh when one document changes, as an officer would run them.

Each step is a fresh `cchc` process in a private data folder (caches included), so the figures
contain model loading and imports. Wall-clock and CPU seconds are both printed: on a shared
machine the CPU time is the steadier figure.

    python scripts/measure_refresh.py [--knowledge DIR] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(args: list[str], env: dict) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"cchc {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip().splitlines()[-1]


def edit(path: Path, n: int) -> None:
    """One realistic correction: a sentence added before the second section."""
    text = path.read_text(encoding="utf-8")
    marker = "\n## II."
    sentence = f"\nBổ sung lần {n}: phường mở thêm quầy hướng dẫn thủ tục vào sáng thứ Bảy.\n"
    path.write_text(text.replace(marker, sentence + marker, 1) if marker in text else text + sentence,
                    encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = Path(tmp) / "knowledge"
        shutil.copytree(args.knowledge, knowledge)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
        env.update(CCHC_DATA_DIR=str(Path(tmp) / "data"), CCHC_KNOWLEDGE_DIR=str(knowledge), HF_HUB_OFFLINE="1")
        target = sorted((knowledge / "plans").glob("*.md"))[1]

        wall, cpu, line = timed(["index", "build", "--rebuild", "--quiet"], env)
        print(f"full rebuild (from nothing)         : {wall:7.2f} s wall, {cpu:7.2f} s CPU | {line}")
        rows = []
        for n in range(1, args.rounds + 1):
            edit(target, n)
            wall_r, cpu_r, line = timed(["index", "refresh", "--quiet"], env)
            label = "first refresh (eval cache cold)" if n == 1 else f"refresh #{n}, one document changed"
            print(f"{label:<36}: {wall_r:7.2f} s wall, {cpu_r:7.2f} s CPU | {line[:110]}")
            if n > 1:
                rows.append((wall_r, cpu_r))
        edit(target, args.rounds + 1)
        wall_n, cpu_n, line = timed(["index", "refresh", "--quiet", "--no-eval"], env)
        print(f"refresh --no-eval, one doc changed  : {wall_n:7.2f} s wall, {cpu_n:7.2f} s CPU")
        if rows:
            best_wall = min(r[0] for r in rows)
            best_cpu = min(r[1] for r in rows)
            print(f"speed-up (steady refresh with checks): {wall / best_wall:.1f}× wall, {cpu / best_cpu:.1f}× CPU")
            print(f"speed-up (refresh --no-eval)         : {wall / wall_n:.1f}× wall, {cpu / cpu_n:.1f}× CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
