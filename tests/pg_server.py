"""A throwaway PostgreSQL cluster for one test session.

``PgServer.start()`` runs ``initdb`` and ``pg_ctl`` from the newest
``/usr/lib/postgresql/*/bin`` (or from ``PATH``) in a fresh temporary
directory, on a free local port, with durability switched off for speed.
``initdb`` refuses to run as root, so under root the cluster is owned by, and
run as, the ``postgres`` user that Debian's server package creates.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pytest_postgresql.janitor import DatabaseJanitor

HOST = "127.0.0.1"
USER = "quanta"
RUN_AS = "postgres"
LOG_TAIL_LINES = 40
START_TIMEOUT_S = 60
PORT_ATTEMPTS = 3
PORT_TAKEN = "Address already in use"


class PgServerError(RuntimeError):
    """The throwaway cluster could not be started."""


def find_bindir() -> Path:
    """Return the directory holding ``initdb`` and ``pg_ctl``, preferring the newest version."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl")):
            return bindir
    raise PgServerError(
        "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin "
        "or on PATH; run `bash scripts/ensure-postgres.sh`"
    )


def free_port() -> int:
    """Return a TCP port on ``HOST`` that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    """Wrap ``cmd`` so it runs as ``RUN_AS`` when we are root, unchanged otherwise."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", RUN_AS, "--", *cmd]
    return ["su", "-s", "/bin/sh", RUN_AS, "-c", shlex.join(cmd)]


def _tail(path: Path) -> str:
    """Return the last lines of a log file, or a note that it is missing."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(lines[-LOG_TAIL_LINES:])


@dataclass
class PgServer:
    """A running throwaway cluster; connect over TCP as ``user`` with no password."""

    host: str
    port: int
    user: str
    bindir: Path
    basedir: Path

    @property
    def datadir(self) -> Path:
        """The cluster's data directory."""
        return self.basedir / "data"

    @property
    def logfile(self) -> Path:
        """The server log written by ``pg_ctl``."""
        return self.basedir / "server.log"

    @classmethod
    def start(cls) -> PgServer:
        """Create and start a cluster; raise ``PgServerError`` with the log tail on failure."""
        bindir = find_bindir()
        basedir = Path(tempfile.mkdtemp(prefix="quanta-pg-"))
        server = cls(host=HOST, port=free_port(), user=USER, bindir=bindir, basedir=basedir)
        try:
            if os.geteuid() == 0:
                try:
                    owner = pwd.getpwnam(RUN_AS)
                except KeyError:
                    raise PgServerError(
                        f"running as root and there is no {RUN_AS!r} user to run initdb as"
                    ) from None
                os.chown(basedir, owner.pw_uid, owner.pw_gid)
            server._run(
                "initdb",
                *("-D", str(server.datadir), "-U", USER, "-A", "trust"),
                *("-E", "UTF8", "--locale=C", "--no-sync"),
            )
            for attempt in range(1, PORT_ATTEMPTS + 1):
                try:
                    server._pg_ctl_start()
                    break
                except PgServerError:
                    # Another process may have taken the port since free_port() saw it free.
                    if attempt == PORT_ATTEMPTS or PORT_TAKEN not in _tail(server.logfile):
                        raise
                    server.port = free_port()
        except BaseException:
            server.stop()
            raise
        return server

    def _pg_ctl_start(self) -> None:
        """Start the postmaster on ``self.port`` and wait until it accepts connections."""
        options = [
            "-F",
            f"-p {self.port}",
            f"-k {shlex.quote(str(self.basedir))}",
            f"-c listen_addresses={self.host}",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
        ]
        self._run(
            "pg_ctl",
            *("start", "-w", "-t", str(START_TIMEOUT_S), "-D", str(self.datadir)),
            *("-l", str(self.logfile), "-o", " ".join(options)),
        )

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        """Run a server program as the cluster owner; if ``check``, raise when it fails."""
        cmd = _as_server_user([str(self.bindir / program), *args])
        result = subprocess.run(
            cmd, cwd=self.basedir, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if check and result.returncode != 0:
            raise PgServerError(
                f"{program} failed with exit code {result.returncode}: {shlex.join(cmd)}\n"
                f"--- output ---\n{result.stdout}{result.stderr}"
                f"--- server log tail ({self.logfile}) ---\n{_tail(self.logfile)}"
            )

    def url(self, dbname: str) -> str:
        """Return the SQLAlchemy URL of database ``dbname`` on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def _janitor(self, dbname: str, template: str | None = None) -> DatabaseJanitor:
        """Return pytest-postgresql's helper that creates and drops ``dbname``."""
        return DatabaseJanitor(
            user=self.user, host=self.host, port=self.port, dbname=dbname, template_dbname=template
        )

    def create_database(self, dbname: str, template: str | None = None) -> None:
        """Create a database called ``dbname``: empty, or a copy of database ``template``.

        Copying is a file copy on the server, much faster than creating a schema again;
        PostgreSQL refuses it while any connection to ``template`` is open, and the
        janitor ends such connections first.
        """
        self._janitor(dbname, template).init()

    def drop_database(self, dbname: str) -> None:
        """Drop ``dbname`` if it exists, terminating any connections to it first."""
        self._janitor(dbname).drop()

    def stop(self) -> None:
        """Stop the server at once (nothing in it needs to survive) and delete its files."""
        if (self.datadir / "postmaster.pid").exists():
            self._run(
                "pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.datadir), check=False
            )
        shutil.rmtree(self.basedir, ignore_errors=True)
