"""The benchmark's own PostgreSQL database: dropped, created and migrated fresh.

The bench never writes to the database the portal runs on. It takes the server
and credentials of DATABASE_URL when that names PostgreSQL (the local server
otherwise) and a database of its own on it, `bowtie_bench` by default.
"""

from urllib.parse import quote, urlsplit, urlunsplit

import dj_database_url
import psycopg
from django.conf import settings
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql

from bowtie.environment import load_environment

BENCH_DATABASE_NAME = "bowtie_bench"
LOCAL_SERVER = "postgres://postgres@127.0.0.1:5432/"
POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def default_database_url(name: str = BENCH_DATABASE_NAME) -> str:
    configured = load_environment().database_url
    server = configured if configured.startswith(POSTGRES_SCHEMES) else LOCAL_SERVER
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path="/" + quote(name)))


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    config = dj_database_url.parse(url)
    user = config.get("USER") or "?"
    return (
        f"{user}@{config.get('HOST') or 'localhost'}:{config.get('PORT') or 5432}"
        f"/{config['NAME']}"
    )


def check_is_not_the_portal_database(url: str) -> None:
    bench = dj_database_url.parse(url)
    portal = settings.DATABASES[DEFAULT_DB_ALIAS]
    if not url.startswith(POSTGRES_SCHEMES):
        raise CommandError(f"The bench needs PostgreSQL, not {url.split(':', 1)[0]}.")
    if "postgresql" not in portal["ENGINE"]:
        return

    same_server = (bench.get("HOST") or "", str(bench.get("PORT") or "")) == (
        portal.get("HOST") or "",
        str(portal.get("PORT") or ""),
    )
    if same_server and bench["NAME"] == portal["NAME"]:
        raise CommandError(
            f"{describe(url)} is the portal's own database; the bench drops and "
            "recreates its database, so give it another name (--database-url)."
        )


def recreate_database(url: str) -> None:
    """Drop the bench database if it exists and create it empty."""
    config = dj_database_url.parse(url)
    try:
        connection = psycopg.connect(
            dbname="postgres",
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            connect_timeout=5,
            autocommit=True,
        )
    except psycopg.OperationalError as error:
        raise CommandError(
            f"PostgreSQL is not reachable as {describe(url)}: {error}".strip()
            + "\nStart it, or set DATABASE_URL (or --database-url) to a server "
            "the bench may create a database on."
        ) from None

    name = sql.Identifier(config["NAME"])
    with connection:
        # FORCE: a previous run stopped with SIGKILL may have left sessions open.
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name)
        connection.execute(drop)
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


def use_database(url: str) -> None:
    """Point this process's default connection at the bench database.

    The bench seeds its workspace and reads the results through the ORM, in
    this process, after the settings were loaded for the portal's database.
    """
    connections.close_all()
    config = dj_database_url.parse(url, conn_max_age=0)
    connections.settings[DEFAULT_DB_ALIAS] = connections.configure_settings(
        {DEFAULT_DB_ALIAS: config}
    )[DEFAULT_DB_ALIAS]
    try:
        del connections[DEFAULT_DB_ALIAS]
    except AttributeError:
        # This thread had not opened the old connection yet.
        pass


def backend_pids() -> list[int]:
    """The server processes of the other sessions on this database."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]
