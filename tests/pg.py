"""PostgreSQL for tests: a fresh database per test, dropped at its end, on the server
``MAINTBOT_TEST_POSTGRES`` names (default: the one every developer's and CI's machine starts,
``postgresql://postgres@127.0.0.1:5432/postgres``, trust authentication).

Where no server answers, the PostgreSQL variants of the tests skip and say why; in CI
(``CI=true``) they fail instead: there they must never silently not run.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from ci import not_here

ADMIN_URL = os.environ.get(
    "MAINTBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def url_for(database: str, admin_url: str = ADMIN_URL) -> str:
    """The admin URL with its database replaced by ``database``."""
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@functools.cache
def unreachable() -> str | None:
    """Why the test server cannot be used (``None`` when it can); asked once per process."""
    import psycopg

    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return " ".join(str(exc).split())
    return None


def require() -> None:
    """Skip (on a laptop) or fail (in CI) a test that needs PostgreSQL when none answers."""
    why = unreachable()
    if why is None:
        return
    host = urlsplit(ADMIN_URL).netloc.rsplit("@", 1)[-1]
    message = (
        f"PostgreSQL at {host} is not reachable ({why}); the PostgreSQL variant of this test "
        "was not run. Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) "
        "main start) or point MAINTBOT_TEST_POSTGRES at a server"
    )
    not_here(message)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database with a random name (tests run in parallel under xdist); its
    URL while the block runs; dropped afterwards, connections and all."""
    import psycopg

    require()
    name = f"maintbot_test_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_for(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
