"""A real PostgreSQL server for the test session, and databases on it (a pytest plugin).

The session starts its own server: Debian's PostgreSQL (``/usr/lib/postgresql/<v>/bin``,
15 preferred; ``$PG_BIN`` overrides), ``initdb`` into a temporary folder, a free
loopback port, the unix socket in that folder. PostgreSQL refuses to run as root, so as
root it runs as the ``postgres`` system user (``runuser -u postgres --``). It is stopped
and its folder removed at the end of the session.

Where the server cannot be found or started, the ``postgres`` tests are skipped with the
reason (``-ra`` prints it); with ``AGENT_GRAPHS_REQUIRE_POSTGRES=1`` (CI) they fail.

Each test gets a fresh schema of its own in one database (``search_path`` in the URL's
``options``: the savers, the audit trail and the thread locks all follow it), dropped
after the test; a schema takes about a tenth of the time a new database would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

REQUIRE_ENV = "AGENT_GRAPHS_REQUIRE_POSTGRES"
INSTALL_HINT = "install it with: apt-get update && apt-get install -y postgresql"
DATABASE = "agent_graphs_tests"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


def find_bin() -> Path:
    """Return the folder with ``initdb`` and ``postgres`` (``$PG_BIN``, else Debian's)."""
    if os.environ.get("PG_BIN"):
        chosen = Path(os.environ["PG_BIN"])
        if not (chosen / "postgres").is_file():
            raise PostgresUnavailable(f"no postgres server binary in $PG_BIN={chosen}")
        return chosen
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: (p.parts[-3] != "15", -int(p.parts[-3]) if
                                  p.parts[-3].isdigit() else 0))
    if not found:
        raise PostgresUnavailable(f"no PostgreSQL server binaries in /usr/lib/postgresql; "
                                  f"{INSTALL_HINT}")
    return found[0].parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """A throwaway PostgreSQL server on 127.0.0.1 (trust authentication, user postgres).

    Args:
        durable: Keep PostgreSQL's default ``fsync``/``synchronous_commit`` (benchmarks);
            tests turn them off, since they kill clients, never the server.
        max_connections: The server's connection limit.
        settings: More server settings (``postgres -c name=value``).
    """

    def __init__(self, *, durable: bool = False, max_connections: int = 200,
                 settings: dict[str, str] | None = None) -> None:
        self.bin = find_bin()
        self.durable = durable
        self.max_connections = max_connections
        self.settings = dict(settings or {})
        self.root = Path(tempfile.mkdtemp(prefix="agpg-"))
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0

    def _cmd(self, *argv: str) -> list[str]:
        runner = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        return [*runner, *argv]

    def start(self) -> PgServer:
        """Initialise a cluster and start the server; raise PostgresUnavailable if not."""
        data = self.root / "data"
        if self._as_postgres:
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root needs runuser (util-linux)")
            try:
                shutil.chown(self.root, "postgres")
            except LookupError:
                raise PostgresUnavailable(f"no 'postgres' system user to run the server as "
                                          f"(PostgreSQL refuses root); {INSTALL_HINT}") from None
        init = subprocess.run(
            self._cmd(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres",
                      "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"),
            capture_output=True, text=True, timeout=120)
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
        errors = []
        for _attempt in range(3):  # the port was free a moment ago; another may take it
            self.port = _free_port()
            if self._launch(data):
                self._admin(f"CREATE DATABASE {DATABASE}")
                return self
            errors.append(self.log.read_text(errors="replace")[-500:])
        raise PostgresUnavailable(f"the server did not start: {errors[-1]}")

    def _launch(self, data: Path) -> bool:
        """Start ``postgres`` and wait for its 'ready' line (or its exit)."""
        settings = {"listen_addresses": "127.0.0.1", "port": str(self.port),
                    "unix_socket_directories": str(self.root),
                    "max_connections": str(self.max_connections)}
        if not self.durable:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        settings.update(self.settings)
        argv = [str(self.bin / "postgres"), "-D", str(data)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        self.proc = subprocess.Popen(self._cmd(*argv), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        log = self.log.open("ab")
        ready = False
        for line in self.proc.stderr:  # the server says when it accepts connections
            log.write(line)
            log.flush()
            if b"ready to accept connections" in line:
                ready = True
                break
        if not ready:
            self.proc.wait(timeout=30)
            log.close()
            return False
        # keep draining the log so the server never blocks on a full pipe
        threading.Thread(target=self._drain, args=(self.proc.stderr, log), daemon=True).start()
        return True

    @staticmethod
    def _drain(stream: IO[bytes], log: IO[bytes]) -> None:
        for line in stream:
            log.write(line)
        log.close()

    def url(self, database: str = "postgres") -> str:
        """The connection URL of ``database`` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """Create an empty project database (a schema, tables ready); return its URL."""
        from checkpoints import postgres

        schema = f"t_{uuid.uuid4().hex[:16]}"
        self._admin(f"CREATE SCHEMA {schema}", DATABASE)
        url = f"{self.url(DATABASE)}?options=-csearch_path%3D{schema}"
        postgres.setup(url)
        return url

    def drop_database(self, url: str) -> None:
        """Drop the project database (schema) at ``url`` with everything in it."""
        self._admin(f"DROP SCHEMA IF EXISTS {url.rsplit('%3D', 1)[1]} CASCADE", DATABASE)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self.proc is not None and self.proc.poll() is None:
            pid_file = self.root / "data" / "postmaster.pid"
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
            except (OSError, ValueError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server (skips, or fails under CI, where there is none)."""
    server = None
    try:
        server = PgServer()
        server.start()
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as err:
        if server is not None:
            server.stop()
        reason = f"PostgreSQL unavailable: {err}"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRE_ENV}=1)", pytrace=False)
        pytest.skip(reason)
    yield server
    server.stop()


@pytest.fixture
def pg_database(postgres_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database's URL, also in ``$AGENT_GRAPHS_DB`` (so nodes audit into it)."""
    url = postgres_server.create_database()
    monkeypatch.setenv("AGENT_GRAPHS_DB", url)
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The ``--db`` of a CLI test, once per backend: a SQLite file, then a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "db.sqlite")
    return str(request.getfixturevalue("pg_database"))
