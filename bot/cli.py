"""`cchc` — the command line. Other tools depend on these commands and the JSON shape of `ask --json`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator

from index.documents import KnowledgeError
from index.embed import EmbeddingError
from index.lexicon import LexiconError
from index.settings import get_settings
from index.store import IndexUnavailable
from bot.cli_eval import _is_test_split, cmd_eval  # noqa: F401 - re-exported
from bot.cli_eval import add_parser as add_eval_parser
from bot.cli_index import cmd_index_build, cmd_index_export_vectors, cmd_index_refresh, cmd_index_rollback  # noqa: F401
from bot.cli_index import add_parser as add_index_parser
from bot.cli_knowledge import cmd_knowledge_add, cmd_knowledge_import_procedures  # noqa: F401 - re-exported
from bot.cli_knowledge import add_parser as add_knowledge_parser
from bot.store import DatabaseSetupError


def _assistant(build_if_missing: bool = True, live: bool = True):
    """The answer core, loaded once. `live` follows index refreshes without a restart (chat, ask, channels)."""
    if live:
        from bot.live import LiveAssistant

        return LiveAssistant(get_settings(), build_if_missing=build_if_missing, show_progress=True)
    from bot.answer import Assistant

    return Assistant.load(get_settings(), build_if_missing=build_if_missing, show_progress=True)


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

    add_index_parser(sub)
    add_knowledge_parser(sub)

    ask = sub.add_parser("ask", help="hỏi một câu (hoặc '-' để đọc từng dòng từ stdin)")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="in một đối tượng JSON cho mỗi câu hỏi")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="trò chuyện trong terminal (hoặc đọc mỗi dòng stdin một tin nhắn)")
    chat.set_defaults(func=cmd_chat)

    add_eval_parser(sub)
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
    except LexiconError as exc:  # a word list an officer broke: nothing is built or published until it is fixed
        print(f"Lỗi trong danh sách từ (knowledge/lexicon): {exc} Chỉ mục đang chạy không đổi.",
              file=sys.stderr)
        return 2
