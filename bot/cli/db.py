"""The store itself: ``db migrate [--check]`` and ``db copy --to URL``.

``db copy`` moves an existing SQLite store (``MAINTBOT_DB``) to PostgreSQL in one command:
every table, the audit trail with its ids, in one transaction on the target; a target that
already holds rows is refused (exit 2) before anything is written to it.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from bot.errors import StoreError

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("db", help="the store: migrate its schema, copy it to PostgreSQL")
    verbs = p.add_subparsers(dest="db_verb", required=True, metavar="ACTION")
    m = verbs.add_parser(
        "migrate",
        help="bring MAINTBOT_DB's schema to this version (every verb does so on start)",
    )
    m.add_argument(
        "--check",
        action="store_true",
        help="write nothing: exit 0 if the schema is current, 1 if it needs migrating",
    )
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_migrate)
    c = verbs.add_parser(
        "copy",
        help="copy every table of MAINTBOT_DB (the audit trail too) into an empty database",
    )
    c.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the target: postgresql://USER@HOST:PORT/DATABASE (or a new SQLite file)",
    )
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_copy)


def _refused(message: str) -> StoreError:
    error = StoreError(message)
    error.exit_code = 2
    return error


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store import SCHEMA_VERSION, Store, peek

    timeout = settings.maintbot_db_busy_timeout
    before, _ = peek(settings.maintbot_db, busy_timeout=timeout)
    if before > SCHEMA_VERSION:
        raise _refused(
            f"the database has schema version {before}, newer than this maintbot understands "
            f"({SCHEMA_VERSION}); upgrade maintbot"
        )
    if args.check:
        current = before == SCHEMA_VERSION
        _say(
            args,
            {"schema_version": before, "current": SCHEMA_VERSION, "ok": current},
            f"schema version {before}; this maintbot's is {SCHEMA_VERSION}"
            + ("" if current else ": run `maintbot db migrate`"),
        )
        return 0 if current else 1
    store = Store(settings.maintbot_db, busy_timeout=timeout)
    try:
        where, after = store.where, store.schema_version()
    finally:
        store.close()
    moved = f"from {before} to {after}" if before != after else f"{after}, already current"
    _say(args, {"database": where, "from": before, "to": after}, f"{where}: schema {moved}")
    return 0


def cmd_copy(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store import SCHEMA_VERSION, Store, peek

    timeout = settings.maintbot_db_busy_timeout
    target_version, counts = peek(args.to, busy_timeout=timeout)
    held = {table: n for table, n in counts.items() if n}
    if target_version > SCHEMA_VERSION or held:
        shown = ", ".join(f"{table} {n}" for table, n in held.items()) or "no rows"
        raise _refused(
            f"the target already holds a maintbot store (schema {target_version}; {shown}); "
            "db copy writes only into an empty database: create a new one (createdb) and "
            "copy into it"
        )
    source = Store(settings.maintbot_db, busy_timeout=timeout)
    try:
        target = Store(args.to, clock=source.clock, busy_timeout=timeout)
        try:
            if source.where == target.where:
                raise _refused("the target is MAINTBOT_DB itself; name another database")
            copied = source.copy_to(target)
            check = target.table_counts()
        finally:
            target.close()
    finally:
        source.close()
    if check != copied:
        raise StoreError(f"the copy does not match its source: copied {copied}, found {check}")
    lines = [f"copied {source.where} to {target.where}:"]
    lines += [f"  {table:<17} {n:>8}" for table, n in copied.items()]
    _say(args, {"from": source.where, "to": target.where, "rows": copied}, "\n".join(lines))
    return 0


def _say(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if args.json else text)
