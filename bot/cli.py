"""`cchc` — the command line. Other tools depend on these commands and the JSON shape of `ask --json`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator

from index.documents import KnowledgeError
from index.embed import EmbeddingError
from index.settings import get_settings
from index.store import IndexUnavailable
from bot.store import DatabaseSetupError


def _assistant(build_if_missing: bool = True, live: bool = True):
    """The answer core, loaded once. `live` follows index refreshes without a restart (chat, ask, channels)."""
    if live:
        from bot.live import LiveAssistant

        return LiveAssistant(get_settings(), build_if_missing=build_if_missing, show_progress=True)
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


def _print_answer(answer) -> None:
    print(answer.text)


MAX_LINE_BYTES = 32 * 1024  # a question longer than this is refused for its line (Telegram's limit is 4096 chars)
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9,))  # NUL and other control bytes → dropped


def _stdin_questions(stream) -> Iterator[tuple[str | None, str | None]]:
    """(question, None) or (None, error) per input line, whatever its bytes: invalid UTF-8 is replaced,
    control characters dropped, an over-long line refused (and skipped to its end without being kept)."""
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # drain the rest of the line in bounded pieces
                raw = stream.readline(MAX_LINE_BYTES)
            yield None, f"Câu hỏi dài quá {MAX_LINE_BYTES // 1024} KB; hãy hỏi ngắn gọn hơn."
            continue
        question = raw.decode("utf-8", errors="replace").rstrip("\r\n").translate(_CONTROL).strip()
        if not question:
            yield question, "Dòng trống: không có câu hỏi."
            continue
        yield question, None


def _emit(obj: dict) -> None:
    sys.stdout.buffer.write(json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace") + b"\n")
    sys.stdout.buffer.flush()


def _ask_stream(assistant, as_json: bool) -> int:
    """One output per input line (JSON: exactly one object, an answer or {"line", "question", "error"})."""
    for n, (question, error) in enumerate(_stdin_questions(sys.stdin.buffer), start=1):
        answer = None
        if error is None:
            try:
                answer = assistant.answer(question)
            except Exception as exc:  # noqa: BLE001 - one bad question must not end the stream
                error = f"Không trả lời được câu này ({type(exc).__name__}); các câu sau vẫn được trả lời."
        if as_json:
            _emit(answer.to_json() if answer is not None else {"line": n, "question": question, "error": error})
        else:
            print(answer.text if answer is not None else f"Lỗi (dòng {n}): {error}", flush=True)
            print()
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    assistant = _assistant()
    if args.question == "-":
        try:
            return _ask_stream(assistant, args.json)
        except (BrokenPipeError, KeyboardInterrupt):  # the reader went away: stop quietly
            return 0
    answer = assistant.answer(args.question)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        _print_answer(answer)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """Chat in the terminal through the conversation layer (follow-ups, sources, votes as on Telegram and Zalo)."""
    from bot.store import open_store
    from bot.terminal import run_chat

    interactive = sys.stdin.isatty()
    print("Trợ lý CCHC — đang nạp mô hình và chỉ mục…", file=sys.stdout if interactive else sys.stderr, flush=True)
    settings = get_settings()
    assistant = _assistant()
    try:
        return run_chat(assistant, open_store(settings), data_dir=Path(settings.data_dir))
    except (BrokenPipeError, KeyboardInterrupt):  # the reader went away: stop quietly
        return 0


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


def cmd_telegram(args: argparse.Namespace) -> int:
    """Serve the Telegram bot (polling, or webhook when TELEGRAM_WEBHOOK_URL is set)."""
    import logging

    from bot.store import open_store
    from bot.telegram import NO_TOKEN, ChannelConfigError, build_application, quiet_http_logs, run, webhook_secret

    settings = get_settings()
    token = settings.telegram_bot_token.get_secret_value().strip() if settings.telegram_bot_token else ""
    try:
        if not token:
            raise ChannelConfigError(NO_TOKEN)
        if settings.telegram_webhook_url:
            webhook_secret(settings)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        quiet_http_logs()
        print("Trợ lý CCHC (Telegram) — đang nạp mô hình và chỉ mục…", flush=True)
        app = build_application(settings, _assistant(), open_store(settings))
        run(app, settings)
    except ChannelConfigError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    """Officers' web console (login required; loopback only unless accounts are configured)."""
    from bot.console.app import main as console_main

    return console_main(args.host, args.port, eval_file=args.eval_file, add_user=args.add_user)


def cmd_zalo(args: argparse.Namespace) -> int:
    """Serve whichever Zalo API is configured (Zalo Bot, Zalo OA, or both) until Ctrl+C."""
    import logging

    from bot.store import open_store
    from bot.zalo import ZaloConfigError, check_config, run_zalo

    settings = get_settings()
    try:
        plan = check_config(settings)  # before loading the model: a wrong setting fails in a second
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        names = [n for n, on in (("Zalo Bot", plan.bot), ("Zalo OA", plan.oa)) if on]
        print(f"Trợ lý CCHC ({', '.join(names)}) — đang nạp mô hình và chỉ mục…", flush=True)
        run_zalo(settings, _assistant(), open_store(settings), plan)
    except ZaloConfigError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_messenger(args: argparse.Namespace) -> int:
    """Serve a Facebook page's Messenger webhook until Ctrl+C."""
    import logging

    from bot.messenger import MessengerConfig, MessengerConfigError, run_messenger
    from bot.store import open_store

    try:
        config = MessengerConfig.from_env()  # before loading the model: a missing setting fails in a second
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        print("Trợ lý CCHC (Messenger) — đang nạp mô hình và chỉ mục…", flush=True)
        settings = get_settings()
        run_messenger(settings, _assistant(), open_store(settings), config)
    except MessengerConfigError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cchc", description="Trợ lý CCHC — hỏi đáp thủ tục và cải cách hành chính.")
    parser.add_argument("--version", action="version", version=f"cchc {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="LỆNH")

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

    ask = sub.add_parser("ask", help="hỏi một câu (hoặc '-' để đọc từng dòng từ stdin)")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="in một đối tượng JSON cho mỗi câu hỏi")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="trò chuyện trong terminal (hoặc đọc mỗi dòng stdin một tin nhắn)")
    chat.set_defaults(func=cmd_chat)

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
    tg = sub.add_parser("telegram", help="chạy bot Telegram (polling, hoặc webhook nếu đặt TELEGRAM_WEBHOOK_URL)")
    tg.set_defaults(func=cmd_telegram)
    console = sub.add_parser("console", help="bảng điều khiển web cho cán bộ (mặc định http://127.0.0.1:8080)")
    console.add_argument("--host", default="127.0.0.1", help="địa chỉ lắng nghe (mặc định 127.0.0.1)")
    console.add_argument("--port", type=int, default=8080)
    console.add_argument("--eval-file", help="tệp câu hỏi kiểm thử (mặc định tests/eval/dev/questions.yaml)")
    console.add_argument("--add-user", metavar="TÊN", help="thêm/đổi tài khoản cán bộ (hỏi mật khẩu) rồi thoát")
    console.set_defaults(func=cmd_console)
    zalo = sub.add_parser("zalo", help="chạy Zalo Bot và/hoặc Zalo OA (tuỳ biến môi trường đã đặt)")
    zalo.set_defaults(func=cmd_zalo)
    messenger = sub.add_parser("messenger", help="chạy webhook Facebook Messenger (biến MESSENGER_* trong môi trường)")
    messenger.set_defaults(func=cmd_messenger)
    from state.cli import add_parser as add_db_parser

    add_db_parser(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tro-ly-cchc")
    except PackageNotFoundError:  # run from a checkout without `pip install -e .`
        return "0.1.0"


def _describe(parser: argparse.ArgumentParser) -> None:
    """Every subcommand's --help starts with what it does (its one-line help), at every level."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                sub.description = sub.description or helps.get(name)
                _describe(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _describe(parser)
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:  # `cchc` alone: what it can do
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (IndexUnavailable, KnowledgeError, EmbeddingError, DatabaseSetupError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
