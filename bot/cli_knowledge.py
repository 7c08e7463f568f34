"""`cchc knowledge …`: add documents to the knowledge folder, import procedures from a DVCQG crawl."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from index.documents import KnowledgeError
from index.settings import get_settings


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
        for note in getattr(result, "notes", []):
            print(f"  • {note}")
        if result.missing:
            print(f"  Chưa đọc được: {', '.join(result.missing)} — hãy kiểm tra phần đầu tệp rồi chạy "
                  "`cchc index refresh`.")
    return status


def cmd_knowledge_import_procedures(args: argparse.Namespace) -> int:
    from index.procedure_import import REPORT_NAME, ImportError_, import_procedures, print_summary, render_report

    out = Path(args.out) if args.out else get_settings().knowledge_dir / "procedures"
    crawled = {}
    for item in args.crawled or []:
        slug, _, month = item.rpartition("=")
        crawled[slug or "*"] = month
    try:
        summary = import_procedures(Path(args.dir), out, crawled=crawled, progress=not args.quiet)
    except ImportError_ as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    report = Path(args.report) if args.report else out / REPORT_NAME
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(render_report(summary, Path(args.dir).resolve().name), encoding="utf-8")
    print(print_summary(summary))
    print(f"Báo cáo: {report}. Tiếp theo: rà soát rồi chạy `cchc index refresh`.")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand on `cchc`'s subparsers (called by bot.cli.build_parser, in help order)."""
    knowledge = sub.add_parser("knowledge", help="quản lý văn bản tri thức").add_subparsers(
        dest="knowledge_command", required=True)
    add = knowledge.add_parser("add", help="thêm văn bản (PDF, DOCX, DOC, TXT, MD) vào thư mục tri thức")
    add.add_argument("files", nargs="+")
    add.add_argument("--id", help="mã văn bản (mặc định: tạo từ tiêu đề)")
    add.add_argument("--update", action="store_true", help="làm mới nội dung, giữ phần đầu đã sửa")
    add.set_defaults(func=cmd_knowledge_add)
    imp = knowledge.add_parser("import-procedures",
                               help="nhập thủ tục từ bản crawl Cổng DVCQG (raw/<bộ>/<mã>.json, lists/*.xlsx)")
    imp.add_argument("dir", help="thư mục bản crawl (có raw/ và lists/)")
    imp.add_argument("--out", help="thư mục ghi thủ tục (mặc định <thư mục tri thức>/procedures)")
    imp.add_argument("--report", help="tệp báo cáo (mặc định <out>/import-report.txt)")
    imp.add_argument("--crawled", action="append", metavar="[BỘ=]YYYY-MM",
                     help="tháng crawl, cho mọi bộ hoặc một thư mục bộ (mặc định 2026-06; toa-an-nhan-dan 2026-07)")
    imp.add_argument("--quiet", action="store_true", help="không hiện thanh tiến trình")
    imp.set_defaults(func=cmd_knowledge_import_procedures)
