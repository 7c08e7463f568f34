"""`cchc` — the command line. Other tools depend on these commands and the JSON shape of `ask --json`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index.documents import KnowledgeError
from index.embed import EmbeddingError
from index.settings import get_settings
from index.store import IndexUnavailable


def _assistant(build_if_missing: bool = True):
    from bot.answer import Assistant

    return Assistant.load(get_settings(), build_if_missing=build_if_missing, show_progress=True)


def cmd_index_build(args: argparse.Namespace) -> int:
    from index.build import build_index

    settings = get_settings()
    report = build_index(settings, rebuild=args.rebuild, show_progress=not args.quiet)
    if report.up_to_date:
        print(f"Chỉ mục đã mới nhất (phiên bản {report.version}, {report.documents} văn bản, {report.chunks} đoạn).")
    else:
        print(f"Đã tạo chỉ mục {report.version}: {report.documents} văn bản, {report.chunks} đoạn, "
              f"nhúng mới {report.embedded_now} đoạn, {report.seconds:.1f} giây. Thư mục: {settings.data_dir}")
    return 0


def cmd_knowledge_add(args: argparse.Namespace) -> int:
    from index.ingest import add_file

    settings = get_settings()
    status = 0
    for name in args.files:
        try:
            result = add_file(Path(name), settings.knowledge_dir, doc_id=args.id, update=args.update)
        except (KnowledgeError, OSError) as exc:
            print(f"Không thêm được {name}: {exc}", file=sys.stderr)
            status = 1
            continue
        d = result.document
        print(f"Đã thêm {name} → {result.path}")
        print(f"  Tiêu đề: {d.title}\n  Loại: {d.type}  Số: {d.number or '-'}  Ngày: {d.date or '-'}")
        print(f"  Địa bàn: {', '.join(p for p in (d.ward, d.city) if p) or '-'}  Thời gian: {d.period or '-'}  "
              f"Người ký: {d.signer or '-'}")
        if result.missing:
            print(f"  Chưa đọc được: {', '.join(result.missing)} — hãy kiểm tra phần đầu tệp rồi chạy `cchc index build`.")
    return status


def _print_answer(answer) -> None:
    print(answer.text)


def cmd_ask(args: argparse.Namespace) -> int:
    assistant = _assistant()
    if args.question == "-":
        for line in sys.stdin:
            question = line.rstrip("\n")
            answer = assistant.answer(question)
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
            else:
                _print_answer(answer)
                print()
        return 0
    answer = assistant.answer(args.question)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        _print_answer(answer)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    print("Trợ lý CCHC — đang nạp mô hình và chỉ mục…", flush=True)
    assistant = _assistant()
    print("Sẵn sàng. Gõ câu hỏi rồi nhấn Enter; gõ 'thoát' hoặc Ctrl+D để kết thúc.\n")
    while True:
        try:
            question = input("Bạn: ")
        except (EOFError, KeyboardInterrupt):
            print("\nTạm biệt!")
            return 0
        if question.strip().lower() in {"thoát", "thoat", "exit", "quit"}:
            print("Tạm biệt!")
            return 0
        answer = assistant.answer(question)
        print(f"\nTrợ lý: {answer.text}\n")


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import calibrate, evaluate, format_report, load_items

    assistant = _assistant()
    items = load_items(Path(args.file))
    if args.calibrate:
        rows = calibrate(assistant, items)
        print(f"{'dense_w':>8}{'thresh':>8}{'acc':>8}{'hit@5':>8}{'MRR':>8}{'oos':>8}")
        for r in rows[:15]:
            print(f"{r['dense_weight']:>8}{r['found_threshold']:>8}{r['answer_accuracy']:>8}{r['hit@5']:>8}"
                  f"{r['mrr']:>8}{r['out_of_scope_accuracy']:>8}")
        return 0
    modes = ["keyword", "dense", "hybrid"] if args.all_modes else [args.mode]
    for mode in modes:
        report = evaluate(assistant, items, mode=mode)
        print(format_report(report, f"== {args.file} ({mode})"))
        if args.failures:
            for r in report.failures():
                print(f"  ✗ {r.item.id} [{r.item.category}] {r.item.question!r} found={r.found} "
                      f"rank={r.rank} coverage={r.coverage:.2f}")
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"metrics": report.metrics(), "by_category": report.by_category(),
                 "results": [{"id": r.item.id, "correct": r.correct, "found": r.found, "rank": r.rank}
                             for r in report.results]}, ensure_ascii=False, indent=2), encoding="utf-8")
        print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cchc", description="Trợ lý CCHC — hỏi đáp thủ tục và cải cách hành chính.")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="quản lý chỉ mục").add_subparsers(dest="index_command", required=True)
    build = index.add_parser("build", help="tạo chỉ mục từ thư mục tri thức")
    build.add_argument("--rebuild", action="store_true", help="tạo lại từ đầu, xoá cả bộ nhớ đệm vector")
    build.add_argument("--quiet", action="store_true", help="không hiện thanh tiến trình")
    build.set_defaults(func=cmd_index_build)

    knowledge = sub.add_parser("knowledge", help="quản lý văn bản tri thức").add_subparsers(
        dest="knowledge_command", required=True)
    add = knowledge.add_parser("add", help="thêm văn bản (TXT, MD) vào thư mục tri thức")
    add.add_argument("files", nargs="+")
    add.add_argument("--id", help="mã văn bản (mặc định: tạo từ tiêu đề)")
    add.add_argument("--update", action="store_true", help="làm mới nội dung, giữ phần đầu đã sửa")
    add.set_defaults(func=cmd_knowledge_add)

    ask = sub.add_parser("ask", help="hỏi một câu (hoặc '-' để đọc từng dòng từ stdin)")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="in một đối tượng JSON cho mỗi câu hỏi")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="trò chuyện trong terminal")
    chat.set_defaults(func=cmd_chat)

    ev = sub.add_parser("eval", help="đánh giá trên tệp câu hỏi YAML")
    ev.add_argument("file")
    ev.add_argument("--mode", choices=["hybrid", "keyword", "dense"], default="hybrid")
    ev.add_argument("--all-modes", action="store_true", help="báo cáo keyword, dense và hybrid")
    ev.add_argument("--calibrate", action="store_true", help="dò trọng số dense và ngưỡng tìm thấy")
    ev.add_argument("--failures", action="store_true", help="liệt kê câu sai")
    ev.add_argument("--json", help="ghi kết quả ra tệp JSON")
    ev.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (IndexUnavailable, KnowledgeError, EmbeddingError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
