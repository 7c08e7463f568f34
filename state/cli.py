"""`cchc db upgrade` and `cchc db status`: the shared database's schema, in words an operator can act on."""
from __future__ import annotations

import argparse
import sys

from state.engine import database_url, is_down, make_engine
from state.migrate import status, upgrade
from index.settings import get_settings

NO_URL = ("Chưa đặt CCHC_DATABASE_URL, nên trợ lý dùng SQLite trong thư mục dữ liệu (một máy) và không có gì để nâng "
          "cấp. Muốn nhiều máy dùng chung một CSDL PostgreSQL: đặt CCHC_DATABASE_URL=postgresql://NGƯỜI_DÙNG:MẬT_KHẨU@"
          "MÁY_CHỦ/TÊN_CSDL rồi chạy `cchc db upgrade`.")


def cmd_db(args: argparse.Namespace) -> int:
    url = database_url(get_settings())
    if url is None:
        print(NO_URL, file=sys.stderr)
        return 2
    engine = make_engine(url, pool_size=1)
    where = url.render_as_string(hide_password=True)
    try:
        found = upgrade(engine) if args.db_command == "upgrade" else status(engine)
    except Exception as exc:
        if not is_down(exc):
            raise
        print(f"Lỗi: không kết nối được CSDL {where} ({type(exc).__name__}). Hãy kiểm tra máy chủ PostgreSQL đang "
              "chạy, địa chỉ, tên người dùng và mật khẩu trong CCHC_DATABASE_URL.", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.db_command == "upgrade":
        print(f"CSDL {where}: đã ở phiên bản lược đồ mới nhất ({found.head}).")
        return 0
    if found.up_to_date:
        print(f"CSDL {where}: phiên bản lược đồ {found.current}, mới nhất — sẵn sàng.")
        print(_live_line(url))
        return 0
    print(f"CSDL {where}: phiên bản lược đồ {found.current or 'trống (chưa tạo bảng)'}, cần {found.head}. "
          "Hãy chạy `cchc db upgrade`.")
    return 1


def _live_line(url) -> str:
    """Which index version every worker serves (the shared pointer), in words."""
    from datetime import datetime, timezone

    from state.pointer import DbPointer

    engine = make_engine(url, pool_size=1)
    try:
        row = DbPointer(engine).read()
    finally:
        engine.dispose()
    if row is None:
        return "Chỉ mục dùng chung: chưa xuất bản phiên bản nào (chạy `cchc index build` một lần trên máy xuất bản)."
    when = datetime.fromtimestamp(row.published_at, timezone.utc).strftime("%d/%m/%Y %H:%M UTC")
    who = f", do {row.published_by}" if row.published_by else ""
    return f"Chỉ mục dùng chung đang phục vụ: phiên bản {row.version} (xuất bản {when}{who})."


def add_parser(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="CSDL PostgreSQL dùng chung (khi đặt CCHC_DATABASE_URL)")
    commands = db.add_subparsers(dest="db_command", required=True)
    commands.add_parser("upgrade", help="tạo hoặc nâng cấp các bảng lên phiên bản mới nhất").set_defaults(func=cmd_db)
    commands.add_parser("status", help="phiên bản lược đồ hiện tại và có cần nâng cấp không").set_defaults(func=cmd_db)
