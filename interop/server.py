"""
Run the example site for the interop tests: a fresh SQLite database, migrated, with the demo user
``demo`` / ``demo-password``, served on 127.0.0.1 until interrupted. See interop/README.md.

    python interop/server.py --port 18400            # uvicorn: Django and /mcp
    python interop/server.py --port 18400 --server runserver   # Django alone, no /mcp

When the site answers, one line goes to standard output: ``READY <base URL> <database path>``.
SIGINT or SIGTERM stops the server and removes the working directory unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "interop.settings"
SERVERS = ("uvicorn", "gunicorn", "runserver")


def site_env(database: Path, base_url: str, ca_file: str | None = None) -> dict[str, str]:
    """The environment of every process that touches this site: settings, database, issuer."""
    env = {k: v for k, v in os.environ.items() if k not in ("TWENTY_DB", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        SQLITE_PATH=str(database),
        TWENTY_OAUTH_ISSUER=base_url,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="interop-only-not-secret",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
    )
    if ca_file:
        # The client ID metadata documents of the tests are served over TLS by a test CA.
        env["SSL_CERT_FILE"] = str(ca_file)
    return env


def prepare(env: dict[str, str], log) -> None:
    """Migrate the fresh database and create the demo user."""
    for command in (["migrate", "--verbosity", "0"], ["demo_user"]):
        subprocess.run(  # noqa: S603 - our own commands
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=log, stderr=log
        )


def command(server: str, port: int, workers: int) -> list[str]:
    app = "example_project.asgi:application"
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--lifespan", "on", "--timeout-graceful-shutdown", "3",
        ]  # fmt: skip
    if server == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn", app, "--worker-class", "asgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--graceful-timeout", "3", "--no-control-socket",
        ]  # fmt: skip
    return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]


def wait_until_ready(base_url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    url = base_url + "/.well-known/oauth-authorization-server"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own 127.0.0.1 site
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {timeout:.0f} s")


class Site:
    """A prepared database and a running server; ``stop()`` ends both."""

    def __init__(
        self,
        port: int,
        *,
        server: str = "uvicorn",
        workers: int = 1,
        workdir: Path | None = None,
        ca_file: str | None = None,
        keep: bool = False,
    ) -> None:
        if server not in SERVERS:
            raise ValueError(f"server must be one of {', '.join(SERVERS)}")
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.server = server
        self.workers = workers
        self.keep = keep or workdir is not None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="twenty-oauth-interop-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database = self.workdir / "db.sqlite3"
        self.log_path = self.workdir / "server.log"
        self.env = site_env(self.database, self.base_url, ca_file)
        self.process: subprocess.Popen | None = None

    def start(self) -> Site:
        for path in self.workdir.glob("db.sqlite3*"):
            path.unlink()
        try:
            with open(self.log_path, "ab") as log:
                try:
                    prepare(self.env, log)
                except subprocess.CalledProcessError as exc:
                    raise RuntimeError(f"{' '.join(exc.cmd[1:])} failed") from exc
                self.process = subprocess.Popen(  # noqa: S603 - our own commands
                    command(self.server, self.port, self.workers),
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            wait_until_ready(self.base_url, self.process)
        except RuntimeError as exc:
            tail = self.log()[-4000:]
            self.stop()
            raise RuntimeError(f"{exc}; the end of its log:\n{tail}") from exc
        return self

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run ``manage.py`` on this site's database and settings; its standard output."""
        result = subprocess.run(  # noqa: S603 - our own commands
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # The server runs in its own process group (workers included): end that group only.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Site:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--server", choices=SERVERS, default="uvicorn", help="default: uvicorn")
    parser.add_argument("--workers", type=int, default=1, help="server processes (uvicorn, gunicorn)")
    parser.add_argument("--workdir", type=Path, help="where the database and log go (kept); default: temp")
    parser.add_argument("--ca-file", help="PEM bundle the site trusts for client metadata documents")
    parser.add_argument("--keep", action="store_true", help="keep the temporary working directory")
    args = parser.parse_args(argv)

    site = Site(
        args.port,
        server=args.server,
        workers=args.workers,
        workdir=args.workdir,
        ca_file=args.ca_file,
        keep=args.keep,
    )

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        site.start()
        print(f"READY {site.base_url} {site.database}", flush=True)
        print(f"log: {site.log_path}", file=sys.stderr, flush=True)
        code = site.process.wait()
        print(f"the server exited with status {code}; see {site.log_path}", file=sys.stderr)
        return code or 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"interop server: {exc}", file=sys.stderr)
        return 1
    finally:
        site.stop()


if __name__ == "__main__":
    sys.exit(main())
