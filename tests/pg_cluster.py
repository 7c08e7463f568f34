"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, a Unix socket there, no TCP.

The Debian binaries live in /usr/lib/postgresql/<version>/bin (not on PATH); .ci/run installs them. initdb
refuses to run as root, so as root the cluster runs as `nobody`. Without the binaries the PostgreSQL tests are
skipped with a loud reason locally, and FAIL under CI (env CI set): a test that silently skips does not run.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pytest

MISSING = ("PostgreSQL binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or on PATH: "
           "the PostgreSQL tests did NOT run. Install them with `apt-get install -y postgresql` (.ci/run does).")


def pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


def require_bindir() -> Path:
    bindir = pg_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return bindir


@dataclass
class Cluster:
    """One running postmaster; `url(db)` for SQLAlchemy, `stop()`/`start()` to play a database outage."""

    bindir: Path
    root: Path
    user: str = "cchc"
    template: str | None = None  # a migrated database that fresh test databases are copied from
    _ids: count = field(default_factory=lambda: count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kwargs = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            kwargs = {"user": nobody.pw_uid, "group": nobody.pw_gid}
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True,
                              check=check, timeout=60, cwd=self.root, **kwargs)

    def init(self) -> "Cluster":
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8", "--locale=C.UTF-8",
                  "--no-sync", "--no-instructions")
        return self.start()

    def start(self) -> "Cluster":
        options = (f"-k {self.root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "30",
                  "-o", options, "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.root}"

    def create_database(self, template: str | None = None) -> str:
        """A fresh database (copied from `template` when given); returns its name."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._ids)}"
        with psycopg.connect(host=str(self.root), user=self.user, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """A new cluster in its own temporary folder (about 2 s)."""
    bindir = require_bindir()
    root = Path(tempfile.mkdtemp(prefix="cchc-pg-"))
    cluster = Cluster(bindir, root)
    try:
        return cluster.init()
    except subprocess.CalledProcessError as exc:
        cluster.remove()
        raise RuntimeError(f"PostgreSQL test cluster did not start: {exc.stderr or exc.stdout}") from None


@pytest.fixture(scope="session")
def postgres_cluster():
    """One cluster for the session; tests take a fresh migrated database each (`postgres_url`)."""
    cluster = start_cluster()
    from state.migrate import upgrade_url

    template = cluster.create_database()
    upgrade_url(cluster.url(template))
    cluster.template = template
    yield cluster
    cluster.remove()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """A fresh database migrated to the current schema (copied from a migrated template: milliseconds)."""
    return postgres_cluster.url(postgres_cluster.create_database(template=postgres_cluster.template))
