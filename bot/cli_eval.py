"""`cchc eval`: score the assistant on YAML question sets (the held-out test split shows totals only)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index.settings import get_settings


def _is_test_split(paths: list[str]) -> bool:
    """A path inside a folder named `test` (tests/eval/test): only its totals may be shown."""
    return any("test" in Path(p).resolve().parts for p in paths)


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import calibrate, evaluate, format_report, load_items

    held_out = _is_test_split(args.paths) and not args.i_am_the_eval_author
    if held_out and (args.failures or args.calibrate):
        print("Tập test chỉ được xem số tổng: --failures và --calibrate bị từ chối trên tests/eval/test. "
              "Hãy dùng tests/eval/dev, hoặc chạy lại với --totals.", file=sys.stderr)
        return 2
    try:
        items = load_items(args.paths)
    except (OSError, ValueError, KeyError) as exc:
        print(f"Không đọc được bộ câu hỏi: {exc}", file=sys.stderr)
        return 2
    from bot.cli import _assistant  # late: bot.cli imports this module

    assistant = _assistant(live=False)  # calibration adjusts the assistant in place
    label = " ".join(args.paths)
    if args.calibrate:
        from dataclasses import replace

        rows, proposal = calibrate(assistant, items)
        print(f"{'tham số':<22}{'giá trị':>8}{'acc':>8}{'cite':>8}{'decl':>8}")
        for r in rows:
            print(f"{r['parameter']:<22}{r['value']:>8}{r['answer_accuracy'] or 0:>8.3f}"
                  f"{r.get('citation_accuracy') or 0:>8.3f}{r.get('decline_accuracy') or 0:>8.3f}")
        target = get_settings().data_dir / "policy.proposed.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(replace(assistant.policy, **proposal).to_yaml(), encoding="utf-8")
        changed = {k: v for k, v in proposal.items() if getattr(assistant.policy, k) != v}
        print(f"Đề xuất: {changed or 'giữ nguyên'}. Đã ghi {target}; bot/policy.yaml không bị sửa — "
              "hãy xem lại rồi chép các giá trị muốn dùng.")
        return 0
    modes = ["keyword", "dense", "hybrid"] if args.all_modes else [args.mode]
    for mode in modes:
        report = evaluate(assistant, items, mode=mode)
        print(format_report(report, f"== {label} ({mode})"))
        if args.failures and not args.totals:
            for r in report.failures():
                print(f"  ✗ {r.item.id} [{r.item.category}] {r.item.question!r} found={r.found} "
                      f"rank={r.rank} coverage={r.coverage:.2f} cited={r.cited_docs[:3]}")
        if args.json:
            data = {"metrics": report.metrics(), "pairs": report.pair_metrics(), "by_category": report.by_category()}
            if not (held_out or args.totals):
                data["results"] = [{"id": r.item.id, "correct": r.correct, "found": r.found, "rank": r.rank,
                                    "cited": r.cited_docs} for r in report.results]
            Path(args.json).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        print()
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand on `cchc`'s subparsers (called by bot.cli.build_parser, in help order)."""
    ev = sub.add_parser("eval", help="đánh giá trên tệp hoặc thư mục câu hỏi YAML")
    ev.add_argument("paths", nargs="+", metavar="PATH", help="tệp .yaml hoặc thư mục (mọi *.yaml bên trong)")
    ev.add_argument("--totals", action="store_true", help="chỉ in số tổng và số theo nhóm, không in câu hỏi")
    ev.add_argument("--i-am-the-eval-author", action="store_true", help=argparse.SUPPRESS)
    ev.add_argument("--mode", choices=["hybrid", "keyword", "dense"], default="hybrid")
    ev.add_argument("--all-modes", action="store_true", help="báo cáo keyword, dense và hybrid")
    ev.add_argument("--calibrate", action="store_true", help="dò trọng số dense và ngưỡng tìm thấy")
    ev.add_argument("--failures", action="store_true", help="liệt kê câu sai")
    ev.add_argument("--json", help="ghi kết quả ra tệp JSON")
    ev.set_defaults(func=cmd_eval)
