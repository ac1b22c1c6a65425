"""A throwaway PostgreSQL server for the SQL-source tests: Debian's own binaries, a cluster
in a temporary folder, listening on a free loopback port, stopped and deleted afterwards.

PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the
`postgres` user the Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "install Debian's postgresql package (make test does so when run as root)"


@dataclass
class Server:
    port: int
    superuser_password: str
    folder: Path

    def url(self, user: str = "analyst", database: str = "shop") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                               password=self.superuser_password, dbname=database,
                               autocommit=True)


def server_binaries() -> Path | None:
    """The newest installed server's bin folder (Debian keeps it off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)])
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def why_unavailable() -> str | None:
    """None when a server can be started here, else the reason a test is skipped."""
    if server_binaries() is None:
        return f"PostgreSQL server binaries (pg_ctl, initdb) not found; {INSTALL_HINT}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to own the cluster"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(password: str = "superuser-pw") -> Server:
    binaries = server_binaries()
    assert binaries is not None
    folder = Path(tempfile.mkdtemp(prefix="reportgen-pg-"))
    (folder / "pwfile").write_text(password + "\n")
    owner = _owner()
    if owner is not None:
        shutil.chown(folder, owner.pw_uid, owner.pw_gid)
        shutil.chown(folder / "pwfile", owner.pw_uid, owner.pw_gid)
    port = free_port()
    data = folder / "data"
    _as_owner([binaries / "initdb", "-D", data, "-U", "postgres", "--auth=scram-sha-256",
               f"--pwfile={folder / 'pwfile'}", "-E", "UTF8", "--no-locale", "--no-sync"],
              owner, folder)
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c full_page_writes=off -c synchronous_commit=off")
    _as_owner([binaries / "pg_ctl", "-D", data, "-o", options, "-l", folder / "server.log",
               "-w", "-t", "30", "start"], owner, folder)
    return Server(port=port, superuser_password=password, folder=folder)


def stop(server: Server) -> None:
    binaries = server_binaries()
    assert binaries is not None
    try:
        _as_owner([binaries / "pg_ctl", "-D", server.folder / "data", "-m", "immediate",
                   "-w", "stop"], _owner(), server.folder)
    finally:
        shutil.rmtree(server.folder, ignore_errors=True)


def _owner() -> pwd.struct_passwd | None:
    return pwd.getpwnam("postgres") if os.geteuid() == 0 else None


def _as_owner(command: list, owner: pwd.struct_passwd | None, cwd: Path) -> None:
    ids = {} if owner is None else {"user": owner.pw_uid, "group": owner.pw_gid,
                                    "extra_groups": []}
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True,
                            text=True, timeout=120, check=False, **ids)
    if result.returncode != 0:
        log = cwd / "server.log"
        tail = log.read_text()[-2000:] if log.is_file() else ""
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip()}\n{tail}")
