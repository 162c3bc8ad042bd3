"""A JupyterLab server for tests, started the way ``make book`` starts it, but isolated.

It binds 127.0.0.1 on a free port behind a random token, with its own Jupyter configuration,
data, runtime, IPython, settings, workspace and checkpoint folders, so a developer's own set-up
does not change what is tested and nothing is written into the repository.
"""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 90


@dataclass(frozen=True)
class Lab:
    port: int
    token: str
    home: Path  # the server's private folders; ``home / "settings"`` holds user settings
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}?token={self.token}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def get(self, path: str) -> tuple[int, bytes]:
        """Status and body of ``GET path`` (redirects not followed, no proxy)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(lab: Lab, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(
                f"JupyterLab exited with code {server.returncode}:\n{lab.log_tail()}"
            )
        try:
            if lab.get(f"/api/status?token={lab.token}")[0] == 200:
                return
        except OSError:  # not listening yet
            pass
        time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer within {START_SECONDS} s:\n{lab.log_tail()}")


@contextmanager
def jupyterlab(
    root_dir: Path, home: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[Lab]:
    """Start ``jupyter lab`` serving ``root_dir``, keeping its own folders under ``home``, with
    extra command-line ``args`` and environment ``env``; yield once it answers, stop it on exit.

    Raises:
        AssertionError: with the end of the server's log, if it exits or does not answer
            within ``START_SECONDS`` seconds.
    """
    lab = Lab(port=_free_port(), token=secrets.token_hex(24), home=home, log=home / "server.log")
    environment = os.environ | {
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "jupyter", "lab",
        f"--ServerApp.root_dir={root_dir}",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={lab.port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={lab.token}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        # JupyterLab checkpoints every notebook it opens; keep those copies out of the repository
        f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
        *args,
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with lab.log.open("wb") as log:
        server = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(lab, server)
        yield lab
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
