"""A throwaway PostgreSQL 15 server on loopback, for tests and benchmarks.

``with pg_server() as server:`` runs ``initdb`` and ``pg_ctl start`` in a temporary
folder (as ``nobody`` when running as root: initdb refuses root) with password
authentication for the ``postgres`` user, and stops and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def env(self) -> dict[str, str]:
        """The DATAOPS_PG_* variables dbt_project/profiles.yml reads."""
        return {
            "DATAOPS_PG_HOST": self.host,
            "DATAOPS_PG_PORT": str(self.port),
            "DATAOPS_PG_USER": self.user,
            "DATAOPS_PG_PASSWORD": self.password,
            "DATAOPS_PG_DBNAME": self.dbname,
        }

    def connect(self, dbname: str | None = None):  # -> psycopg.Connection
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname or self.dbname,
            autocommit=True,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def pg_server(
    *,
    password: str = "s3cret-pw",
    dbname: str = "dataops",
    roles: tuple[str, ...] = ("dataops_engineer", "dataops_analyst"),
) -> Iterator[PgServer]:
    """``roles``: created empty, so the dbt project's grants (dbt_project.yml) apply."""
    base = Path(tempfile.mkdtemp(prefix="pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    (base / "pw").write_text(password + "\n")
    user = {}
    if os.geteuid() == 0:
        for path in (base, sock, base / "pw"):
            shutil.chown(path, "nobody")
        user = {"user": "nobody"}
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run(list(args), check=True, capture_output=True, timeout=120, **user)

    run(
        str(PG_BIN / "initdb"),
        *("-D", str(data), "-U", "postgres", "--auth=scram-sha-256", "-E", "UTF8"),
        f"--pwfile={base / 'pw'}",
    )
    options = f"-h 127.0.0.1 -p {port} -k {sock} -c fsync=off -c synchronous_commit=off"
    run(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(data),
        "-w",
        "-l",
        str(base / "log"),
        "-o",
        options,
        "start",
    )
    server = PgServer("127.0.0.1", port, "postgres", password, dbname)
    try:
        with server.connect("postgres") as conn:
            conn.execute(f'create database "{dbname}"')
            for role in roles:
                conn.execute(f'create role "{role}"')
        yield server
    finally:
        run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)
