"""Fixtures shared by the unit tests of d2lhelpers.

Every test runs with an isolated user cache (``XDG_CACHE_HOME`` under its ``tmp_path``) and
without ``D2L_DATA_PATH`` / ``D2L_OFFLINE``, so nothing reads or writes the real cache. Data
downloads go only to a local HTTP server (:func:`server`), never to the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import d2lhelpers.datasets  # noqa: E402
from d2lhelpers.datasets import DataSet, DataSetNotFoundError  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""The project's shared data folder (``shared/`` sits beside the repository)."""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


GOOD = b"It was a dark and stormy night; the rain fell in torrents.\n" * 50
"""Content of the fake data files; its sha256 is what the test DataFiles expect."""

GOOD_GZ = gzip.compress(GOOD, mtime=0)


@dataclass
class FakeServer:
    """What the local HTTP server serves and how often each path was requested.

    ``routes`` maps a URL path (``"/good.txt"``) to ``(mode, body)`` where ``mode`` is
    ``"ok"`` (send ``body``) or ``"truncated"`` (announce more bytes than ``body`` holds,
    send half of it, then close the connection). Any other path gets a 404.
    """

    base_url: str
    routes: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, path: str, body: bytes, mode: str = "ok") -> str:
        """Serve ``body`` at ``path``; return its full URL."""
        self.routes[path] = (mode, body)
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


def _make_handler(state_ref: list[FakeServer]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state = state_ref[0]
            with state.lock:
                state.requests[self.path] += 1
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            mode, body = route
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if mode == "truncated":
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep the test output clean

    return Handler


@pytest.fixture(scope="session")
def _http_server() -> Iterator[tuple[str, list[FakeServer]]]:
    state_ref: list[FakeServer] = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state_ref))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    try:
        yield f"http://{host}:{port}", state_ref
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server(_http_server, monkeypatch) -> FakeServer:
    """A real HTTP server on 127.0.0.1 with no routes and zeroed request counts."""
    base_url, state_ref = _http_server
    state_ref[:] = [FakeServer(base_url)]
    # A proxy configured in the environment must not intercept requests to the local server.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return state_ref[0]


_LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(autouse=True)
def _offline(monkeypatch) -> None:
    """Fail fast, instead of reaching the internet, if a test would download a real file."""
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOCAL_HOSTS:
            raise OSError(f"the unit tests run offline, yet something connects to {address}")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in _LOCAL_HOSTS:
            raise OSError(f"the unit tests run offline, yet something looks up {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path, monkeypatch) -> Path:
    """An empty user cache of our own, and no data path or offline switch from outside."""
    cache_home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.delenv("D2L_DATA_PATH", raising=False)
    monkeypatch.delenv("D2L_OFFLINE", raising=False)
    return cache_home


@pytest.fixture
def register(monkeypatch) -> Callable[[DataSet], DataSet]:
    """Add a data set to the registry for the duration of one test."""

    def _register(dataset: DataSet) -> DataSet:
        monkeypatch.setitem(d2lhelpers.datasets.DATASETS, dataset.name, dataset)
        return dataset

    return _register


@pytest.fixture(scope="session")
def _fashion_cache_home(tmp_path_factory) -> Path:
    # Shared by the tests of one worker, so the IDX files are decompressed only once.
    return tmp_path_factory.mktemp("fashion-cache")


@pytest.fixture
def fashion_cache(_fashion_cache_home, monkeypatch) -> Path:
    """A user cache that keeps decompressed Fashion-MNIST files between tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(_fashion_cache_home))
    return _fashion_cache_home


@pytest.fixture
def fashion_paths(fashion_cache) -> dict[str, Path]:
    """The real Fashion-MNIST files (e.g. Debian's package), or skip if this machine lacks them."""
    try:
        return d2lhelpers.datasets.resolve_dataset("fashion-mnist", download=False)
    except DataSetNotFoundError:
        pytest.skip("Fashion-MNIST is not on this machine (apt-get install dataset-fashion-mnist)")


@pytest.fixture
def shared_data() -> Path:
    """The shared data folder beside the repository, or skip if it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} does not exist")
    return SHARED_DATA


@pytest.fixture
def from_shared_data(shared_data, monkeypatch) -> Path:
    """Resolve data sets from the shared folder only, as CI does (never a download)."""
    monkeypatch.setenv("D2L_DATA_PATH", str(shared_data))
    monkeypatch.setenv("D2L_OFFLINE", "1")
    return shared_data


@pytest.fixture
def default_mode(monkeypatch) -> None:
    """Run the test in default (full-size) mode, whatever the suite's environment says."""
    monkeypatch.delenv("D2L_REDUCED", raising=False)


@pytest.fixture
def reduced_mode(monkeypatch) -> None:
    """Run the test in reduced mode (``D2L_REDUCED=1``)."""
    monkeypatch.setenv("D2L_REDUCED", "1")
