"""Tests of d2lhelpers.sandbox: each misbehaviour of a submission, in both isolation modes.

The commands are small ``python -c`` programs. Tests marked for bubblewrap skip where it is
unusable; the fallback is forced by replacing ``isolation_available``. Run as root (the
grader's setting) they also check the uid switch and that no process of the sandbox uid
survives.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from d2lhelpers import sandbox
from d2lhelpers.sandbox import SANDBOX_UID_BASE, Limits, SandboxResult, run_sandboxed

pytestmark = pytest.mark.filterwarnings("ignore:sandbox:RuntimeWarning")

ROOT = os.geteuid() == 0
SLOT = 990
"""The tests' job slot, away from the slots a grader on this machine would use first."""
UID = SANDBOX_UID_BASE + SLOT
BWRAP_PROBLEM = sandbox._bwrap_problem()
needs_root = pytest.mark.skipif(not ROOT, reason="the uid switch needs root")


@pytest.fixture(params=["bubblewrap", "fallback"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "bubblewrap" and BWRAP_PROBLEM is not None:
        pytest.skip(f"bubblewrap unusable here: {BWRAP_PROBLEM}")
    if request.param == "fallback":
        monkeypatch.setattr(sandbox, "isolation_available", lambda: "fallback")
    return request.param


def _private_folder_above(path: Path) -> Path | None:
    """The first folder above ``path`` that the tests' sandbox uid may not enter."""
    if not ROOT:
        return None
    for folder in reversed(path.parents):
        if not sandbox._can_enter(folder, UID, UID):
            return folder
    return None


@pytest.fixture
def python(mode: str) -> tuple[str, list[Path]]:
    """An interpreter the sandbox uid can run, and the ``readonly`` paths it needs.

    With bubblewrap that is this interpreter, with its prefixes as ``readonly`` (which makes
    them reachable even below a private folder such as a pyenv in ``/root``). In the fallback
    it is this interpreter if the sandbox uid can reach it, else the system's python3.
    """
    prefixes = sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()})
    if mode == "bubblewrap":
        return sys.executable, prefixes
    for exe in (sys.executable, shutil.which("python3", path="/usr/bin:/bin")):
        if exe is not None and _private_folder_above(Path(exe).resolve()) is None:
            return exe, []
    pytest.skip("the sandbox uid can reach no python interpreter here")


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh work folder directly in /tmp, so that the fallback's uid can enter it
    (pytest's tmp_path lies below a folder of mode 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="test-sandbox-", dir="/tmp"))
    (folder / "in.txt").write_text("input data\n")
    yield folder
    shutil.rmtree(folder)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a killed orphan may stay a zombie until init reaps it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def sandbox_pids() -> list[int]:
    """Live processes of the tests' sandbox uid."""
    return [p.pid for p in psutil.process_iter(["uids"])
            if p.info["uids"] is not None and p.info["uids"].real == UID
            and alive(p.pid)]


def run(python: tuple[str, list[Path]], code: str, workdir: Path, **kwargs) -> SandboxResult:
    exe, readonly = python
    kwargs.setdefault("slot", SLOT)
    return run_sandboxed([exe, "-c", code], workdir, readonly=[*readonly, *kwargs.pop(
        "readonly", [])], **kwargs)


# --- arguments ---------------------------------------------------------------------------


def test_limits_name_the_bad_field() -> None:
    with pytest.raises(ValueError, match=r"^timeout_s must be > 0 seconds, got 0$"):
        Limits(timeout_s=0)
    with pytest.raises(ValueError, match=r"^max_processes must be a positive int, got True$"):
        Limits(max_processes=True)
    with pytest.raises(ValueError, match=r"^disk_bytes must be a positive int, got -1$"):
        Limits(disk_bytes=-1)


def test_bad_arguments_are_refused(workdir: Path) -> None:
    with pytest.raises(TypeError, match="not a string"):
        run_sandboxed("python -c 1", workdir)
    with pytest.raises(ValueError, match="^command must not be empty$"):
        run_sandboxed([], workdir)
    with pytest.raises(ValueError, match=r"^slot must be an int in 0\.\.999, got 1000$"):
        run_sandboxed(["true"], workdir, slot=1000)
    with pytest.raises(ValueError, match=r"outputs: \.\./x is not inside workdir"):
        run_sandboxed(["true"], workdir, outputs=[Path("../x")])
    with pytest.raises(FileNotFoundError, match="readonly path /no/such/path does not exist"):
        run_sandboxed(["true"], workdir, readonly=[Path("/no/such/path")])
    with pytest.raises(FileNotFoundError, match=f"workdir {workdir}/missing does not exist"):
        run_sandboxed(["true"], workdir / "missing")


# --- normal runs ---------------------------------------------------------------------------


def test_normal_exit_gives_output_returncode_uid_and_writable_dirs(
        mode: str, python: tuple[str, list[Path]], workdir: Path) -> None:
    code = (
        "import os, sys\n"
        "print('uid', os.getuid(), 'cwd', os.getcwd(), flush=True)\n"
        "for key in ['TMPDIR', 'XDG_CACHE_HOME', 'MPLCONFIGDIR', 'JUPYTER_RUNTIME_DIR',"
        " 'IPYTHONDIR']:\n"
        "    path = os.environ[key]\n"
        "    assert path.startswith(os.environ['HOME'] + '/'), key\n"
        "    assert os.access(path, os.W_OK), key\n"
        "print('to stderr', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    result = run(python, code, workdir, slot=SLOT + 1)
    uid = UID + 1 if ROOT else os.getuid()
    assert result.output == f"uid {uid} cwd {workdir}\nto stderr\n"
    assert (result.returncode, result.violation, result.isolation) == (3, None, mode)
    assert 0 < result.seconds < 10


def test_command_that_cannot_start_gives_127(mode: str, workdir: Path) -> None:
    result = run_sandboxed(["/no/such/program"], workdir, slot=SLOT)
    assert result.returncode == 127
    assert result.output == "sandbox: cannot run '/no/such/program': No such file or directory\n"


@pytest.mark.skipif(BWRAP_PROBLEM is not None, reason="needs bubblewrap")
def test_grader_running_from_below_tmp_still_starts_its_sandbox(workdir: Path) -> None:
    # bubblewrap hides the host's /tmp; a grader whose environment lives there (a CI clone)
    # must still find its own interpreter inside.
    venv = Path(tempfile.mkdtemp(prefix="test-sandbox-venv-"))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        code = (
            "import sys\nfrom pathlib import Path\nfrom d2lhelpers.sandbox import run_sandboxed\n"
            f"r = run_sandboxed(['/bin/echo', 'started'], Path({str(workdir)!r}), slot={SLOT})\n"
            "print(r.returncode, r.output, end='')"
        )
        root = str(Path(sandbox.__file__).resolve().parents[1])
        site = [p for p in sys.path if p.endswith("site-packages")]
        done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                              text=True, env={"PYTHONPATH": os.pathsep.join([root, *site])})
        assert done.stdout == "0 started\n", done.stderr
    finally:
        shutil.rmtree(venv)


def test_outputs_come_back_and_nothing_else(mode: str, python: tuple[str, list[Path]],
                                             workdir: Path) -> None:
    (workdir / "out").mkdir()
    (workdir / "out" / "result.txt").write_text("stale result of an earlier run")
    code = (
        "import os\n"
        "print(open('in.txt').read(), end='')\n"
        "print(open('out/result.txt').read() or 'empty')\n"
        "open('out/result.txt', 'w').write('fresh')\n"
        "open('scratch.txt', 'w').write('scratch')\n"
        "os.remove('in.txt')\n"
    )
    result = run(python, code, workdir, outputs=[Path("out/result.txt")])
    assert (result.returncode, result.output) == (0, "input data\nempty\n")
    assert (workdir / "out" / "result.txt").read_text() == "fresh"
    # With bubblewrap the command worked on a copy; the fallback works in workdir itself.
    assert (workdir / "scratch.txt").exists() == (mode == "fallback")
    assert (workdir / "in.txt").exists() == (mode == "bubblewrap")


# --- misbehaviour ----------------------------------------------------------------------------

GRANDCHILD = "import os, time; print('grandchild', os.getpid(), flush=True); time.sleep(60)"
# The grandchild leaves the process group (as a daemon does), so killing the group misses it.
CHILD = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
         f"{GRANDCHILD!r}], start_new_session=True); print('child up', flush=True); "
         "time.sleep(60)")
PARENT = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
          f"{CHILD!r}]); print('parent up', flush=True); time.sleep(60)")


def test_timeout_kills_child_and_grandchild(mode: str, python: tuple[str, list[Path]],
                                            workdir: Path) -> None:
    code = PARENT
    result = run(python, code, workdir, limits=Limits(timeout_s=2.0))
    assert (result.returncode, result.violation) == (None, "timeout")
    assert 2.0 <= result.seconds < 5.0
    child, grandchild, parent = sorted(result.output.splitlines())
    assert (child, grandchild.split()[0], parent) == ("child up", "grandchild", "parent up")
    assert result.peak_processes >= 3
    if mode == "fallback":  # host pids: the grandchild is gone
        assert not alive(int(grandchild.split()[1]))
    if ROOT:
        assert sandbox_pids() == []


def test_without_root_descendants_that_leave_the_session_are_killed(
        monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    # Without root there is no uid to sweep: the sandbox is the command's session plus the
    # descendants seen at each poll. Simulated here (as root the command then runs as root).
    monkeypatch.setattr(sandbox, "isolation_available", lambda: "fallback")
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 4242)
    result = run_sandboxed([sys.executable, "-c", PARENT], workdir,
                           limits=Limits(timeout_s=2.0))
    assert (result.returncode, result.violation) == (None, "timeout")
    child, grandchild, parent = sorted(result.output.splitlines())
    assert (child, parent) == ("child up", "parent up")
    assert result.peak_processes >= 3
    assert not alive(int(grandchild.split()[1]))


def test_endless_printing_is_cut_and_killed(mode: str, python: tuple[str, list[Path]],
                                            workdir: Path) -> None:
    limits = Limits(output_bytes=64 * 2**10, timeout_s=30)
    code = "import sys\nwhile True:\n    sys.stdout.write('x' * 99 + '\\n')\n"
    result = run(python, code, workdir, limits=limits)
    assert (result.returncode, result.violation) == (None, "output")
    assert result.seconds < 5
    head, marker, tail = result.output.partition("\n[sandbox: ")
    cut, _, tail = tail.partition(" bytes of output cut here]\n")
    assert int(cut) > 0
    assert len(head) + len(tail) == limits.output_bytes
    assert head.startswith("x" * 99 + "\n") and set(head + tail) == {"x", "\n"}
    if ROOT:
        assert sandbox_pids() == []


FORK_BOMB = """
import os, time
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    except OSError as e:
        print('fork failed:', e.strerror, flush=True)
        break
time.sleep(60)
"""


def test_fork_bomb_is_reported_as_processes(mode: str, python: tuple[str, list[Path]],
                                            workdir: Path) -> None:
    result = run(python, FORK_BOMB, workdir, limits=Limits(max_processes=16, timeout_s=3))
    # It ran out of time too, but "processes" names what it did.
    assert (result.returncode, result.violation) == (None, "processes")
    assert result.output == "fork failed: Resource temporarily unavailable\n"
    assert result.peak_processes == 16
    if ROOT:
        assert sandbox_pids() == []


def test_file_larger_than_the_limit_fails(mode: str, python: tuple[str, list[Path]],
                                          workdir: Path) -> None:
    code = (
        "try:\n"
        "    open('big.bin', 'wb').write(bytes(2 * 2**20))\n"
        "except OSError as e:\n"
        "    print(type(e).__name__, e.strerror)\n"
    )
    result = run(python, code, workdir, limits=Limits(file_size_bytes=2**20))
    assert (result.returncode, result.output) == (0, "OSError File too large\n")


@pytest.mark.parametrize("mode", ["bubblewrap"], indirect=True)
def test_filling_the_disk_stops_at_disk_bytes(mode: str, python: tuple[str, list[Path]],
                                              workdir: Path) -> None:
    name = f"fill-{os.getpid()}.bin"
    code = (
        "import os\n"
        f"for folder in [os.getcwd(), '/tmp', '/dev/shm']:\n"
        f"    path = os.path.join(folder, '{name}')\n"
        "    try:\n"
        "        with open(path, 'wb') as f:\n"
        "            for _ in range(8):\n"
        "                f.write(bytes(2**20))\n"
        "    except OSError as e:\n"
        "        print(folder, e.strerror, os.path.getsize(path) <= 4 * 2**20)\n"
    )
    limits = Limits(disk_bytes=4 * 2**20, file_size_bytes=64 * 2**20)
    result = run(python, code, workdir, limits=limits)
    assert result.output == "".join(f"{f} No space left on device True\n"
                                    for f in [workdir, "/tmp", "/dev/shm"])
    assert not (workdir / name).exists()
    assert not (Path("/tmp") / name).exists()


def test_readonly_host_file_cannot_be_deleted(mode: str, python: tuple[str, list[Path]],
                                              workdir: Path) -> None:
    if mode == "fallback" and not ROOT:
        pytest.skip("the fallback without root runs as the file's owner")
    folder = Path(tempfile.mkdtemp(prefix="test-sandbox-data-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        data = folder / "data.txt"
        data.write_text("precious\n")
        code = (
            f"path = {str(data)!r}\n"
            "print(open(path).read(), end='')\n"
            "for attempt in [lambda: __import__('os').remove(path), lambda: open(path, 'a')]:\n"
            "    try:\n"
            "        attempt()\n"
            "    except OSError as e:\n"
            "        print(e.strerror)\n"
        )
        result = run(python, code, workdir, readonly=[folder])
        # Deleting: the read-only mount refuses it first under bubblewrap, else the folder's
        # mode; appending: the file's mode.
        error = "Read-only file system" if mode == "bubblewrap" else "Permission denied"
        assert (result.returncode, result.output) == (0, f"precious\n{error}\nPermission denied\n")
        assert data.read_text() == "precious\n"
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def host_server() -> Iterator[tuple[str, int]]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()


def test_network_is_cut_under_bubblewrap_only(mode: str, python: tuple[str, list[Path]],
                                              workdir: Path,
                                              host_server: tuple[str, int]) -> None:
    socket.create_connection(host_server, timeout=2).close()  # the host can connect
    code = (
        "import socket\n"
        f"for address in [{host_server!r}, ('192.0.2.1', 80)]:\n"
        "    try:\n"
        "        socket.create_connection(address, timeout=1).close()\n"
        "        print('connected')\n"
        "    except OSError as e:\n"
        "        print(type(e).__name__)\n"
    )
    result = run(python, code, workdir)
    if mode == "bubblewrap":  # a network namespace with only its own loopback
        assert result.output == "ConnectionRefusedError\nOSError\n"
    else:  # the documented weakness of the fallback
        assert result.output.startswith("connected\n")


def test_allocation_over_the_memory_limit_fails_inside(
        mode: str, python: tuple[str, list[Path]], workdir: Path) -> None:
    code = (
        "small = bytearray(100 * 2**20)\n"
        "try:\n"
        "    bytearray(8 * 2**30)\n"
        "except MemoryError:\n"
        "    print('MemoryError')\n"
    )
    result = run(python, code, workdir)  # default limits: 6 GiB of address space
    assert (result.returncode, result.output) == (0, "MemoryError\n")


# --- private folders ------------------------------------------------------------------------


@pytest.fixture
def private_folder() -> Iterator[Path]:
    """A folder of mode 0700 outside /tmp (which bubblewrap replaces anyway)."""
    folder = Path(tempfile.mkdtemp(prefix="test-sandbox-private-", dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder)


@needs_root
def test_private_folders_hide_their_other_contents(
        mode: str, python: tuple[str, list[Path]], private_folder: Path) -> None:
    work = private_folder / "work"
    data = private_folder / "data"
    for folder in (work, data):
        folder.mkdir()
    (data / "train.csv").write_text("1,2\n")
    (private_folder / "answer-key.txt").write_text("secret\n")
    code = (
        "import os\n"
        f"print(sorted(os.listdir({str(private_folder)!r})))\n"
        f"print(open({str(data / 'train.csv')!r}).read(), end='')\n"
    )
    if mode == "fallback":
        with pytest.raises(PermissionError, match=f"cannot enter {private_folder} .mode 0700."):
            run(python, code, work, readonly=[data])
        return
    result = run(python, code, work, readonly=[data])
    assert (result.returncode, result.output) == (0, "['data', 'work']\n1,2\n")


# --- a real Jupyter kernel ------------------------------------------------------------------


def test_jupyter_kernel_with_torch_runs_under_default_limits(
        mode: str, python: tuple[str, list[Path]], workdir: Path) -> None:
    exe, readonly = python
    if exe != sys.executable:
        pytest.skip(f"the sandbox uid cannot reach {sys.executable} without bubblewrap")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch\nprint(torch.ones(2).sum().item())")]
    nbformat.write(nb, workdir / "submission.ipynb")
    code = (
        "import nbclient, nbformat\n"
        "nb = nbformat.read('submission.ipynb', as_version=4)\n"
        "nbclient.NotebookClient(nb, timeout=60, kernel_name='python3').execute()\n"
        "nbformat.write(nb, 'executed.ipynb')\n"
    )
    result = run(python, code, workdir, outputs=[Path("executed.ipynb")],
                 limits=Limits(timeout_s=120))
    assert (result.returncode, result.violation) == (0, None), result.output
    executed = nbformat.read(workdir / "executed.ipynb", as_version=4)
    assert executed.cells[0].outputs[0].text == "2.0\n"


# --- warnings --------------------------------------------------------------------------------


def test_fallback_warns_once(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setattr(sandbox, "isolation_available", lambda: "fallback")
    monkeypatch.setattr(sandbox, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            run_sandboxed(["/no/such/program"], workdir, slot=SLOT)
    messages = [str(w.message) for w in caught if "falling back" in str(w.message)]
    assert len(messages) == 1
    assert "weaker isolation, without network or file-system isolation" in messages[0]
    assert "sudo apt-get install bubblewrap" in messages[0]


@needs_root
def test_runs_on_one_slot_take_turns(mode: str, python: tuple[str, list[Path]],
                                     workdir: Path) -> None:
    # Each run starts by killing what its uid runs; without the slot lock the second run
    # would kill the first (returncode 137 or -9).
    code = "import time; time.sleep(1.0); print('done')"
    results: list[SandboxResult] = []
    first = threading.Thread(target=lambda: results.append(run(python, code, workdir)))
    first.start()
    time.sleep(0.3)
    started = time.monotonic()
    results.append(run(python, code, workdir))
    waited = time.monotonic() - started
    first.join()
    assert [(r.returncode, r.output) for r in results] == [(0, "done\n")] * 2
    assert waited >= 1.5  # about 0.7 s waiting for the first, then 1 s of its own
