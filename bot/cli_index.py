"""`cchc index …`: build, refresh (checked before it switches), export vectors, roll back."""
from __future__ import annotations

import argparse
import sys

from index.settings import get_settings


def cmd_index_build(args: argparse.Namespace) -> int:
    from index.build import build_index

    settings = get_settings()
    report = build_index(settings, rebuild=args.rebuild, show_progress=not args.quiet)
    if report.up_to_date:
        print(f"Chỉ mục đã mới nhất (phiên bản {report.version}, {report.documents} văn bản, {report.chunks} đoạn).")
    else:
        print(f"Đã tạo chỉ mục {report.version}: {report.documents} văn bản, {report.chunks} đoạn, "
              f"nhúng mới {report.embedded_now} đoạn, {report.seconds:.1f} giây. Thư mục: {settings.data_dir}")
    if report.lexicon_problem:
        print(f"Cảnh báo: danh sách từ có lỗi, trợ lý tạm không dùng tên gọi thủ tục và cách hỏi về thủ tục: "
              f"{report.lexicon_problem} Sửa xong hãy chạy lại `cchc index build`.", file=sys.stderr)
    return 0


def cmd_index_export_vectors(args: argparse.Namespace) -> int:
    """Ship the live index's passage vectors with the knowledge, so a fresh install need not embed them."""
    from index import store
    from index.embed import EmbeddingCache, export_vectors, load_embedder, shipped_vectors_path

    settings = get_settings()
    embedder = load_embedder(settings)
    index = store.load(settings.data_dir, embedder.model_id)
    path = shipped_vectors_path(settings.knowledge_dir, embedder.model_id)
    # the vectors already shipped count too: an index built from them embedded only the new passages
    cache = EmbeddingCache(settings.data_dir / "cache" / "embeddings.sqlite", shipped=path)
    try:
        count = export_vectors(cache, embedder.model_id, [c.text for c in index.chunks], path)
    finally:
        cache.close()
    print(f"Đã lưu {count} vector vào {path} ({path.stat().st_size / 1e6:.1f} MB).")
    return 0


def cmd_index_refresh(args: argparse.Namespace) -> int:
    from index.refresh import refresh

    report = refresh(get_settings(), show_progress=not args.quiet, tolerance=args.tolerance,
                     run_eval=not args.no_eval)
    if report.up_to_date:
        print(f"Chỉ mục đã mới nhất (phiên bản {report.version}, {report.documents} văn bản, {report.chunks} đoạn).")
        return 0
    changes = (f"thêm {len(report.added)}, sửa {len(report.changed)}, bỏ {len(report.removed)} văn bản; "
               f"nhúng mới {report.embedded_now} đoạn, dùng lại {report.reused} đoạn")
    if not report.published:
        print(f"KHÔNG chuyển sang phiên bản mới ({changes}). Chỉ mục đang phục vụ vẫn là {report.version}. Lý do:",
              file=sys.stderr)
        for problem in report.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    live, new = report.checks.get("eval_live"), report.checks.get("eval_new")
    quality = (f" Độ chính xác bộ kiểm tra: {live['answer_accuracy']} → {new['answer_accuracy']}."
               if live and new else "")
    print(f"Đã chuyển sang phiên bản {report.version} ({report.documents} văn bản, {report.chunks} đoạn; {changes}; "
          f"{report.seconds:.1f} giây).{quality} Phiên bản trước: {report.previous or '-'} "
          "(quay lại bằng `cchc index rollback`).")
    return 0


def cmd_index_rollback(args: argparse.Namespace) -> int:
    from index.refresh import rollback

    report = rollback(get_settings())
    print(f"Đã quay lại phiên bản {report.to_version} (thay cho {report.from_version}). Bot đang chạy sẽ tự chuyển.")
    if report.differing:
        print(f"Lưu ý: thư mục tri thức vẫn khác phiên bản này ở: {', '.join(report.differing)} — lần "
              "`cchc index refresh` sau sẽ đưa các thay đổi đó trở lại; hãy sửa hoặc gỡ chúng trước.")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand on `cchc`'s subparsers (called by bot.cli.build_parser, in help order)."""
    index = sub.add_parser("index", help="quản lý chỉ mục").add_subparsers(dest="index_command", required=True)
    build = index.add_parser("build", help="tạo chỉ mục từ thư mục tri thức")
    build.add_argument("--rebuild", action="store_true", help="tạo lại từ đầu, xoá cả bộ nhớ đệm vector")
    build.add_argument("--quiet", action="store_true", help="không hiện thanh tiến trình")
    build.set_defaults(func=cmd_index_build)
    refresh = index.add_parser("refresh", help="làm mới chỉ mục theo thay đổi, kiểm tra rồi mới chuyển")
    refresh.add_argument("--tolerance", type=float, default=None,
                         help="độ chính xác bộ kiểm tra được giảm tối đa bao nhiêu (mặc định 0.02)")
    refresh.add_argument("--no-eval", action="store_true", help="bỏ bước chạy bộ câu hỏi kiểm tra")
    refresh.add_argument("--quiet", action="store_true", help="không hiện thanh tiến trình")
    refresh.set_defaults(func=cmd_index_refresh)
    export = index.add_parser("export-vectors", help="lưu vector của chỉ mục hiện tại kèm thư mục tri thức")
    export.set_defaults(func=cmd_index_export_vectors)
    rollback = index.add_parser("rollback", help="quay lại phiên bản chỉ mục trước")
    rollback.set_defaults(func=cmd_index_rollback)
