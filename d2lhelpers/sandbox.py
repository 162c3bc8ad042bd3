"""Run one untrusted command (a student's notebook) in a sandbox and report what happened.

Design, with bubblewrap (``isolation == "bubblewrap"``: ``bwrap`` works and we are root):

* **Files.** The host root is bound read-only (``--ro-bind / /``) with a fresh ``/dev`` and
  ``/proc``. ``workdir`` is replaced, at the same path, by a tmpfs of ``disk_bytes`` into which
  a small root-owned stage program copies the host folder's files before it drops to the
  sandbox uid, so filling the work folder fills RAM up to the cap, never the host disk, and
  nothing written there survives. Each file named in ``outputs`` is created empty on the host
  (owned by the sandbox uid) and bind-mounted over its place in the tmpfs: it is the only thing
  that comes back. ``/tmp`` and ``/dev/shm`` are private tmpfs of ``disk_bytes`` each (mode
  1777); ``HOME``, ``TMPDIR`` and the Jupyter/IPython/matplotlib folders live in ``/tmp``.
* **Private folders.** A folder the sandbox uid may not enter (e.g. ``/root``, mode 0700) is
  replaced by an empty tmpfs when ``workdir`` or a ``readonly`` path lies below it; only those
  paths are bound back into it, so the interpreter under ``/root/.pyenv`` can run while the
  rest of ``/root`` stays hidden.
* **Network, processes.** ``--unshare-net`` (only a loopback of its own, which the Jupyter
  kernel uses), ``--unshare-pid/ipc/uts``, ``--new-session``, ``--die-with-parent``.
* **User.** The command runs as uid/gid ``61000 + slot`` with no supplementary groups and no
  capabilities, so the per-uid ``RLIMIT_NPROC`` counts only this submission, and killing
  "every process of that uid" kills exactly the sandbox.

Both modes set, for every process, ``RLIMIT_AS = memory_bytes`` (a process that asks for more
gets ``MemoryError``), ``RLIMIT_FSIZE = file_size_bytes`` (``OSError: File too large``),
``RLIMIT_NPROC = max_processes`` and ``RLIMIT_CORE = 0``. The fallback (no usable bwrap, or not
root) adds only the uid switch (as root), a new session and the same limits: the command runs
in the host ``workdir`` itself (handed over to the sandbox uid), sees the network and every
file that its uid may read or write, and has no cap on the total it writes. Without root it
runs as the caller: ``RLIMIT_NPROC`` is then the caller's current task count plus
``max_processes``, and the sandbox is the command's session plus every descendant seen at a
poll (a process that leaves the session and is orphaned within 0.2 s escapes).

On timeout, too much output, or exit, the process group is killed, then (as root) every
process of the sandbox uid, repeatedly until none is left; a pid is only ever signalled while
it is known to be ours (the unreaped child's group, or through psutil, which checks the
process's start time), so a reused pid is never hit.

What is NOT isolated, even with bubblewrap: CPU time and cores (only the wall-clock timeout
bounds them); memory in total (``RLIMIT_AS`` is per process, and the three tmpfs hold up to
``3 * disk_bytes`` of RAM that no rlimit counts); anything world-readable on the host (the
root file system is visible read-only: keep answer keys and other submissions in folders
with mode 0700); the host kernel (a kernel exploit escapes any namespace sandbox).

Measured here (torch 2.14 CPU+CUDA wheels, 2 cores): ``import torch`` plus a matmul reserves
3.3 GiB of address space (3.6 GiB with 16 threads), so 4 GiB is about the smallest
``memory_bytes`` that lets a Jupyter kernel use torch (3 GiB fails with "failed to map segment
from shared object"). A whole assignment notebook ran out of memory at 4 GiB (in IPython's
traceback formatting) and of threads at 64 (a kernel, its executor and torch's pools run about
20), hence the defaults of 6 GiB and 256. Linux counts threads, not processes, against
``RLIMIT_NPROC``: torch starts one thread per core, so on many-core machines set
``OMP_NUM_THREADS`` in ``env`` or raise ``max_processes``.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import json
import os
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from .validation import check_int, check_number

__all__ = ["Limits", "SandboxResult", "isolation_available", "run_sandboxed", "SANDBOX_UID_BASE"]

SANDBOX_UID_BASE = 61000
"""The sandbox of job slot ``s`` runs as uid and gid ``SANDBOX_UID_BASE + s`` (when root)."""

MAX_SLOT = 999
"""Largest ``slot``: uids 61000..61999 stay inside Debian's range for site-allocated ids."""

_POLL_S = 0.2
"""Seconds between two counts of the sandbox's processes."""

_KILL_WAIT_S = 5.0
"""Seconds spent killing what is left of a sandbox before giving up with an error."""

_INPUT_MOUNT = "/tmp/.sandbox-input"
"""Where (inside the sandbox) the host ``workdir`` is bound read-only for the stage to copy."""

_BWRAP_HOME = "/tmp/sandbox-home"
"""``HOME`` inside bubblewrap, in the private ``/tmp``."""

_PR_SET_NO_NEW_PRIVS = 38
# Looked up once here: a dlopen() in the forked child could deadlock on a loader lock held by
# another thread of the parent (parallel slots run in threads).
_prctl = ctypes.CDLL(None, use_errno=True).prctl

_BWRAP_NAMESPACES = (
    "--unshare-net",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
)

# Runs as root inside bubblewrap (python -I -S: no site, no PYTHON* variables): fills the work
# tmpfs, hands it to the sandbox uid, drops every privilege and becomes the command.
_STAGE = r"""
import json, os, shutil, sys
import warnings  # os.execvp imports it, after setuid, when the stdlib may be unreadable
spec = json.loads(sys.argv[1])
work, uid, gid = spec["work"], spec["uid"], spec["gid"]
skip = {os.path.join(work, rel) for rel in spec["outputs"]}
def ignore(src_dir, names):
    dst_dir = os.path.join(work, os.path.relpath(src_dir, spec["src"]))
    return [n for n in names if os.path.normpath(os.path.join(dst_dir, n)) in skip]
try:
    shutil.copytree(spec["src"], work, symlinks=True, dirs_exist_ok=True, ignore=ignore)
    for d in spec["dirs"]:
        os.makedirs(d, exist_ok=True)
    for top in (work, spec["home"]):
        os.chown(top, uid, gid)
        os.chmod(top, 0o700)
        for parent, dirs, files in os.walk(top):
            for name in dirs + files:
                os.chown(os.path.join(parent, name), uid, gid, follow_symlinks=False)
except (OSError, shutil.Error) as e:
    sys.exit(f"sandbox: cannot prepare the work folder: {e}")
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
os.chdir(work)
try:
    os.execvp(spec["command"][0], spec["command"])
except OSError as e:
    print(f"sandbox: cannot run {spec['command'][0]!r}: {e.strerror}", file=sys.stderr)
    sys.exit(127)
"""


@dataclass(frozen=True)
class Limits:
    """What one sandboxed command may use.

    Attributes:
        timeout_s: wall-clock seconds for the whole command; then every process is killed.
        memory_bytes: ``RLIMIT_AS`` (address space, bytes) of every process in the sandbox.
        file_size_bytes: ``RLIMIT_FSIZE``: the largest file (bytes) a process may write.
        disk_bytes: size (bytes) of the work folder, and of ``/tmp`` and ``/dev/shm`` each
            (tmpfs, bubblewrap only).
        max_processes: ``RLIMIT_NPROC`` of the sandbox uid; Linux counts threads too.
        output_bytes: stdout+stderr bytes kept; beyond them the command is killed.

    Raises:
        ValueError: naming the field, if a limit is not positive (or not an int).
        TypeError: if ``timeout_s`` is not a number.
    """

    timeout_s: float = 600.0
    # A Jupyter kernel that has imported torch reserves 3.3 GiB of address space and runs about
    # 20 threads with its executor; these leave room for a laptop-sized assignment's tensors.
    memory_bytes: int = 6 * 2**30
    file_size_bytes: int = 256 * 2**20
    disk_bytes: int = 512 * 2**20
    max_processes: int = 256
    output_bytes: int = 1 * 2**20

    def __post_init__(self) -> None:
        if not check_number("timeout_s", self.timeout_s) > 0:
            raise ValueError(f"timeout_s must be > 0 seconds, got {self.timeout_s!r}")
        check_int("memory_bytes", self.memory_bytes)
        check_int("file_size_bytes", self.file_size_bytes)
        check_int("disk_bytes", self.disk_bytes)
        check_int("max_processes", self.max_processes)
        check_int("output_bytes", self.output_bytes, minimum=2)


@dataclass
class SandboxResult:
    """What happened to one sandboxed command.

    Attributes:
        returncode: the command's exit status; ``None`` when the sandbox killed it (timeout,
            output). Under bubblewrap a command killed by signal N (e.g. by the kernel) gives
            ``128 + N``; in the fallback ``-N`` (``subprocess`` convention). A command that
            cannot be started gives 127 and a ``sandbox: cannot run ...`` line in ``output``.
        violation: ``None``, ``"processes"`` (the process/thread count reached
            ``max_processes``), ``"output"`` (more than ``output_bytes`` were printed) or
            ``"timeout"``. When several happen, the first in that order wins: a fork bomb that
            then runs out of time is reported as ``"processes"``, since that names what it did.
        output: stdout and stderr interleaved, decoded with ``errors="replace"``. Beyond
            ``output_bytes``, the first half and the last half of those bytes are kept, joined
            by one ``[sandbox: N bytes of output cut here]`` line.
        seconds: wall-clock seconds from start until the command exited or was killed.
        isolation: ``"bubblewrap"`` or ``"fallback"``.
        peak_processes: the most tasks (processes plus their threads, as ``RLIMIT_NPROC``
            counts them) seen at once in the sandbox, polled every 0.2 s, so short-lived
            ones may be missed. The sandbox is its uid as root, else the command's session
            and descendants.
    """

    returncode: int | None
    violation: str | None
    output: str
    seconds: float
    isolation: str
    peak_processes: int


def isolation_available() -> str:
    """``"bubblewrap"`` if we are root and ``bwrap`` runs with the namespaces used, else
    ``"fallback"`` (the probe runs once per process, in about 10 ms)."""
    return "bubblewrap" if _bwrap_problem() is None else "fallback"


@functools.cache
def _bwrap_problem() -> str | None:
    """Why bubblewrap cannot be used here, or ``None`` if it can."""
    if os.geteuid() != 0:
        return "not running as root, so the sandbox cannot switch to an unprivileged uid"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed"
    probe = [bwrap, *_BWRAP_NAMESPACES, "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
             "/proc", "--size", str(2**20), "--perms", "1777", "--tmpfs", "/tmp", "--", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bwrap failed to start: {e}"
    if done.returncode != 0:
        return f"bwrap failed: {done.stderr.strip() or done.returncode}"
    return None


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def run_sandboxed(command: Sequence[str], workdir: Path, *, readonly: Sequence[Path] = (),
                  outputs: Sequence[Path] = (), env: Mapping[str, str] | None = None,
                  limits: Limits = Limits(), slot: int = 0) -> SandboxResult:
    """Run ``command`` with cwd ``workdir`` in a sandbox (see the module docstring).

    Args:
        command: program and arguments, e.g. ``[sys.executable, "-m", "...", "nb.ipynb"]``.
        workdir: an existing host folder holding the inputs (not ``/`` or ``/tmp``), fresh for
            each run: the fallback hands it to the sandbox uid and the command writes into it.
            With bubblewrap its files (at most ``disk_bytes`` in all) are copied into the
            sandbox, and the host folder itself may and should be private (mode 0700).
        readonly: host paths outside ``workdir`` the command must read (data, the venv, the
            interpreter's ``sys.base_prefix``). With bubblewrap they are bound read-only at
            their resolved path, made reachable even below a private folder (but the paths
            themselves must be readable by the sandbox uid); the fallback checks only that
            they exist.
        outputs: files inside ``workdir`` (relative or absolute paths) that come back: each is
            truncated to empty on the host first, owned by the sandbox uid; its size is capped
            by ``file_size_bytes``. Write them in place: with bubblewrap each is a mount point,
            so replacing one by ``rename`` fails with ``EBUSY``.
        env: environment of the command (default ``os.environ``); ``HOME``, ``TMPDIR``,
            ``XDG_CACHE_HOME``, ``MPLCONFIGDIR``, ``JUPYTER_RUNTIME_DIR`` and ``IPYTHONDIR``
            are always set to fresh writable folders, and as root ``USER``/``LOGNAME`` to
            ``sandbox`` (the sandbox uid has no passwd entry for ``getpass.getuser``).
        limits: see :class:`Limits`.
        slot: parallel job slot in 0..999. As root the uid is ``61000 + slot`` and a run
            first kills what that uid still runs, so runs on one slot take turns (a lock file
            in the temporary folder, shared by all processes): give parallel jobs distinct
            slots.

    Returns:
        A :class:`SandboxResult`; the call returns after every process of the sandbox is gone.

    Raises:
        TypeError: if ``command`` is a string (pass a list of arguments).
        ValueError: if ``command`` is empty, ``slot`` is out of range, an ``outputs`` path is
            not inside ``workdir`` (or is a symlink), a ``readonly`` path is inside it, or
            (bubblewrap) the inputs exceed ``limits.disk_bytes``.
        FileNotFoundError: if ``workdir`` or a ``readonly`` path does not exist.
        NotADirectoryError: if ``workdir`` is not a folder.
        PermissionError: (fallback, as root) if the sandbox uid cannot reach ``workdir`` or a
            ``readonly`` path.
        RuntimeError: if processes of the sandbox uid survive being killed for 5 s.
    """
    if isinstance(command, (str, bytes)):
        raise TypeError("command must be a sequence of arguments, not a string")
    command = [os.fspath(arg) for arg in command]
    if not command:
        raise ValueError("command must not be empty")
    slot = check_int("slot", slot, minimum=0, maximum=MAX_SLOT)
    workdir = Path(workdir).resolve()
    if not workdir.exists():
        raise FileNotFoundError(f"workdir {workdir} does not exist")
    if not workdir.is_dir():
        raise NotADirectoryError(f"workdir {workdir} is not a folder")
    if workdir in (Path("/"), Path("/tmp")):
        raise ValueError(f"workdir must be a folder of its own, got {workdir}")
    out_paths = [_output_path(workdir, Path(p)) for p in outputs]
    ro_paths = [_readonly_path(workdir, Path(p)) for p in readonly]

    isolation = isolation_available()
    as_root = os.geteuid() == 0
    if not as_root:
        _warn_once("sandbox: not running as root, so the command runs as the current user; "
                   "run the grader as root to give each submission a uid of its own")
    if isolation == "fallback":
        _warn_once(f"sandbox: bubblewrap unusable ({_bwrap_problem()}); falling back to "
                   "rlimits, a new session and (as root) a uid switch: weaker isolation, "
                   "without network or file-system isolation; install bubblewrap with "
                   "`sudo apt-get install bubblewrap` and run as root")
    uid, gid = (SANDBOX_UID_BASE + slot,) * 2 if as_root else (os.getuid(), os.getgid())
    with _slot_lock(uid if as_root else None):
        if as_root:
            _kill_uid(uid)  # leftovers of an earlier run would count against RLIMIT_NPROC
        return _run(command, workdir, out_paths, ro_paths, env, limits, slot, isolation,
                    as_root, uid, gid)


@contextlib.contextmanager
def _slot_lock(uid: int | None) -> Iterator[None]:
    """Hold an exclusive lock on sandbox uid ``uid`` (none when ``None``).

    Two runs on one slot would kill each other (each starts by killing its uid), so a second
    one, in this process or another, waits here until the first is done.
    """
    if uid is None:
        yield
        return
    path = os.path.join(tempfile.gettempdir(), f"d2lhelpers-sandbox-{uid}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _run(command: list[str], workdir: Path, out_paths: list[Path], ro_paths: list[Path],
         env: Mapping[str, str] | None, limits: Limits, slot: int, isolation: str,
         as_root: bool, uid: int, gid: int) -> SandboxResult:
    host_home: str | None = None
    try:
        if isolation == "bubblewrap":
            _check_input_size(workdir, set(out_paths), limits)
            _create_outputs(out_paths, uid, gid)
            home = _BWRAP_HOME
            # The stage program runs on this Python, which may live below the hidden /tmp.
            own = [p for p in _interpreter_paths() if p not in ro_paths]
            argv = _bwrap_argv(command, workdir, out_paths, [*own, *ro_paths], limits, uid, gid)
        else:
            if as_root:
                for path in [workdir, *ro_paths]:
                    _check_enterable(path, uid, gid)
            _create_outputs(out_paths, uid, gid)
            if as_root:
                _chown_tree(workdir, uid, gid)
            host_home = tempfile.mkdtemp(prefix=f"sandbox-home-{slot}-")
            home = host_home
            argv = command
        sandbox_env = _sandbox_env(os.environ if env is None else env, home, as_root)
        if host_home is not None:
            for key in _HOME_VARS:
                os.makedirs(sandbox_env[key], exist_ok=True)
            if as_root:
                _chown_tree(Path(host_home), uid, gid)
        return _supervise(argv, workdir, sandbox_env, limits, isolation, uid, gid, as_root)
    finally:
        if host_home is not None:
            shutil.rmtree(host_home, ignore_errors=True)


def _interpreter_paths() -> list[Path]:
    """The folders this Python runs from: its installation and its virtual environment."""
    return sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()})


_HOME_VARS = ("HOME", "TMPDIR", "XDG_CACHE_HOME", "MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR",
              "IPYTHONDIR")


def _sandbox_env(base: Mapping[str, str], home: str, as_root: bool) -> dict[str, str]:
    env = dict(base)
    env.update(HOME=home, TMPDIR=f"{home}/tmp", XDG_CACHE_HOME=f"{home}/.cache",
               MPLCONFIGDIR=f"{home}/.config/matplotlib",
               JUPYTER_RUNTIME_DIR=f"{home}/.local/share/jupyter/runtime",
               IPYTHONDIR=f"{home}/.ipython")
    if as_root:
        env.update(USER="sandbox", LOGNAME="sandbox")
    return env


def _output_path(workdir: Path, path: Path) -> Path:
    full = workdir / path  # an absolute ``path`` stays as it is
    resolved = full.parent.resolve() / full.name
    if workdir not in resolved.parents:
        raise ValueError(f"outputs: {path} is not inside workdir {workdir}")
    if resolved.is_symlink() or resolved.is_dir():
        raise ValueError(f"outputs: {resolved} must be a regular file, not a symlink or folder")
    return resolved


def _readonly_path(workdir: Path, path: Path) -> Path:
    resolved = path.resolve()
    if not resolved.exists():
        raise FileNotFoundError(f"readonly path {path} does not exist")
    if resolved == workdir or workdir in resolved.parents or resolved in workdir.parents:
        raise ValueError(f"readonly path {path} overlaps workdir {workdir}")
    return resolved


def _check_input_size(workdir: Path, outputs: set[Path], limits: Limits) -> None:
    total = 0
    for parent, _, files in os.walk(workdir):
        for name in files:
            path = Path(parent, name)
            if path not in outputs and not path.is_symlink():
                total += path.stat().st_size
    if total > limits.disk_bytes:
        raise ValueError(f"workdir {workdir} holds {total} bytes, more than "
                         f"limits.disk_bytes={limits.disk_bytes}")


def _create_outputs(paths: Sequence[Path], uid: int, gid: int) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a symlink planted in a reused workdir must not make us truncate its target.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        try:
            os.fchown(fd, uid, gid)
        finally:
            os.close(fd)


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.chown(top, uid, gid)
    for parent, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(parent, name), uid, gid, follow_symlinks=False)


def _can_enter(path: Path, uid: int, gid: int) -> bool:
    """Whether ``uid`` (primary group ``gid``, no others) may search folder ``path``,
    judged from its mode bits alone (ACLs are ignored)."""
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _check_enterable(path: Path, uid: int, gid: int) -> None:
    for folder in reversed(path.parents):
        if not _can_enter(folder, uid, gid):
            raise PermissionError(
                f"the sandbox uid {uid} cannot enter {folder} (mode "
                f"{stat.S_IMODE(folder.stat().st_mode):04o}), so it cannot reach {path}; "
                "keep the work folder, the data and this Python below world-searchable "
                "folders, or install bubblewrap (sudo apt-get install bubblewrap)")


def _private_folders(paths: Sequence[Path], replaced: Sequence[Path], uid: int,
                     gid: int) -> list[Path]:
    """The highest folders above ``paths`` that ``uid`` cannot enter, except folders at or
    below ``replaced`` (which the sandbox mounts afresh anyway), shallowest first."""
    hidden: set[Path] = set()
    for path in paths:
        for folder in reversed(path.parents):
            if any(folder == r or r in folder.parents for r in [*replaced, *hidden]):
                break
            if not _can_enter(folder, uid, gid):
                hidden.add(folder)
                break
    return sorted(hidden, key=lambda p: len(p.parts))


def _bwrap_argv(command: list[str], workdir: Path, outputs: Sequence[Path],
                readonly: Sequence[Path], limits: Limits, uid: int, gid: int) -> list[str]:
    size = str(limits.disk_bytes)
    argv = [shutil.which("bwrap") or "bwrap", *_BWRAP_NAMESPACES,
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--size", size, "--perms", "1777", "--tmpfs", "/tmp",
            "--size", size, "--perms", "1777", "--tmpfs", "/dev/shm"]
    for folder in _private_folders([workdir, *readonly], [Path("/tmp")], uid, gid):
        # Root-owned, read-only for the sandbox: it only holds the mount points bound below.
        argv += ["--size", str(2**20), "--perms", "0755", "--tmpfs", str(folder)]
    # --dir before each mount: bwrap creates the missing folders above a mount point with
    # mode 0700 (root's), which would lock the sandbox uid out; --dir makes them 0755.
    argv += ["--ro-bind", str(workdir), _INPUT_MOUNT, "--dir", str(workdir),
             "--size", size, "--perms", "0700", "--tmpfs", str(workdir)]
    for path in outputs:
        argv += ["--dir", str(path.parent), "--bind", str(path), str(path)]
    for path in readonly:
        argv += ["--dir", str(path if path.is_dir() else path.parent),
                 "--ro-bind", str(path), str(path)]
    spec = {"src": _INPUT_MOUNT, "work": str(workdir), "uid": uid, "gid": gid,
            "outputs": [str(p.relative_to(workdir)) for p in outputs], "home": _BWRAP_HOME,
            "dirs": [v for k, v in _sandbox_env({}, _BWRAP_HOME, True).items()
                     if k in _HOME_VARS], "command": command}
    return [*argv, "--", sys.executable, "-I", "-S", "-c", _STAGE, json.dumps(spec)]


def _limit_process(limits: Limits, nproc: int) -> None:
    """``preexec_fn``: runs in the child after the uid switch, before exec."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not write GiBs of core
    # No setuid programs (su, sudo) to climb back up; bubblewrap sets this too.
    _prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


class _OutputCollector:
    """Reads a pipe in a thread, keeping the first and the last ``limit // 2`` bytes."""

    def __init__(self, fd: int, limit: int) -> None:
        self._fd = fd
        self._limit = limit
        self._head_size = limit // 2
        self._tail_size = limit - self._head_size
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0
        self.overflow = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="sandbox-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            # select with a timeout so that finish() can stop us while an escaped process
            # still holds the pipe open.
            if not select.select([self._fd], [], [], 0.1)[0]:
                continue
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return
            self.total += len(chunk)
            room = self._head_size - len(self._head)
            if room > 0:
                self._head += chunk[:room]
                chunk = chunk[room:]
            self._tail += chunk
            if len(self._tail) > 2 * self._tail_size:
                del self._tail[: -self._tail_size]
            if self.total > self._limit:
                self.overflow.set()

    def finish(self) -> str:
        """Wait (at most 2 s) for the end of the output and return the kept text."""
        self._thread.join(timeout=2.0)
        self._stop.set()
        self._thread.join()
        if self.total <= self._limit:
            return (self._head + self._tail).decode(errors="replace")
        tail = self._tail[-self._tail_size:]
        cut = self.total - len(self._head) - len(tail)
        return (self._head.decode(errors="replace")
                + f"\n[sandbox: {cut} bytes of output cut here]\n"
                + tail.decode(errors="replace"))


def _tasks(procs: Iterable[psutil.Process]) -> int:
    """Tasks (threads; a zombie counts one) of ``procs``."""
    count = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            count += proc.num_threads() or 1
    return count


def _processes_of_uid(uid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["uids"]):
        # RLIMIT_NPROC counts by real uid.
        if proc.info["uids"] is not None and proc.info["uids"].real == uid:
            found.append(proc)
    return found


def _kill_all(find: Callable[[], list[psutil.Process]]) -> None:
    """SIGKILL what ``find`` returns until it returns nothing alive (a fork bomb refills)."""
    deadline = time.monotonic() + _KILL_WAIT_S
    while True:
        procs = []
        for proc in find():
            with contextlib.suppress(psutil.Error):
                # Zombies are dead already; their parents (killed too) or init reap them.
                if proc.status() != psutil.STATUS_ZOMBIE:
                    procs.append(proc)
        if not procs:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"sandbox: {len(procs)} processes survived SIGKILL for "
                               f"{_KILL_WAIT_S} s: {[p.pid for p in procs]}")
        for proc in procs:
            # psutil refuses to signal a pid that now names another process (start time).
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=0.2)


def _kill_uid(uid: int) -> None:
    _kill_all(lambda: _processes_of_uid(uid))


class _UidTracker:
    """As root, the sandbox is every process of its uid, which nothing can leave."""

    def __init__(self, uid: int, limit: int) -> None:
        self._uid = uid
        self._limit = limit

    def poll(self) -> tuple[int, bool]:
        """The sandbox's tasks, and whether they reached the limit."""
        tasks = _tasks(_processes_of_uid(self._uid))
        return tasks, tasks >= self._limit

    def kill(self) -> None:
        _kill_uid(self._uid)


class _TreeTracker:
    """Without root, the sandbox is the command's session plus every descendant seen at a
    poll; a process that leaves the session and is orphaned between two polls escapes."""

    def __init__(self, pid: int, nproc: int) -> None:
        self._sid = pid  # start_new_session made the command a session leader
        self._seen: dict[int, psutil.Process] = {pid: psutil.Process(pid)}
        self._nproc = nproc

    def _members(self) -> list[psutil.Process]:
        for proc in list(self._seen.values()):
            with contextlib.suppress(psutil.Error):
                for child in proc.children(recursive=True):
                    self._seen.setdefault(child.pid, child)
        for proc in _processes_of_uid(os.getuid()):
            with contextlib.suppress(OSError):
                if os.getsid(proc.pid) == self._sid:
                    self._seen.setdefault(proc.pid, proc)
        # is_running() also notices a pid that now names another process.
        return [proc for proc in self._seen.values() if proc.is_running()]

    def poll(self) -> tuple[int, bool]:
        tasks = _tasks(self._members())
        # The rlimit counts every task of our uid, the grader's included.
        return tasks, _tasks(_processes_of_uid(os.getuid())) >= self._nproc

    def kill(self) -> None:
        _kill_all(self._members)


def _has_exited(pid: int) -> bool:
    # WNOWAIT leaves the child a zombie, so its pid (and process group id) cannot be reused
    # before we have killed the group.
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _supervise(argv: list[str], workdir: Path, env: dict[str, str], limits: Limits,
               isolation: str, uid: int, gid: int, as_root: bool) -> SandboxResult:
    """Start ``argv``, watch time, output and processes, then kill whatever is left."""
    nproc = limits.max_processes
    if not as_root:  # our own uid runs other things (this grader, a shell) that count too
        nproc += _tasks(_processes_of_uid(uid))
    uid_kwargs = {"user": uid, "group": gid, "extra_groups": []}
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=functools.partial(_limit_process, limits, nproc),
            **(uid_kwargs if as_root and isolation == "fallback" else {}))
    except OSError as e:  # the same result as the bubblewrap stage gives
        return SandboxResult(127, None, f"sandbox: cannot run {argv[0]!r}: {e.strerror}\n",
                             time.monotonic() - start, isolation, 0)
    assert proc.stdout is not None
    collector = _OutputCollector(proc.stdout.fileno(), limits.output_bytes)
    tracker = (_UidTracker(uid, limits.max_processes) if as_root
               else _TreeTracker(proc.pid, nproc))
    deadline = start + limits.timeout_s
    violation: str | None = None
    killed = False
    peak = 0
    try:
        while True:
            exited = _has_exited(proc.pid)
            tasks, at_limit = tracker.poll()
            peak = max(peak, tasks)
            if at_limit and violation is None:
                violation = "processes"
            if exited:
                break
            if collector.overflow.is_set():
                violation, killed = violation or "output", True
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                violation, killed = violation or "timeout", True
                break
            collector.overflow.wait(min(_POLL_S, remaining))
        seconds = time.monotonic() - start
    finally:
        # proc.pid is not reaped yet, so the group id is still ours to signal.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        tracker.kill()
        proc.wait()
        output = collector.finish()
        proc.stdout.close()
    if collector.overflow.is_set() and violation is None:
        violation = "output"  # it printed too much and exited before we could kill it
    return SandboxResult(None if killed else proc.returncode, violation, output, seconds,
                         isolation, peak)
