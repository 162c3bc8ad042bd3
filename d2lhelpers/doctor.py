"""``python -m d2lhelpers doctor``: report what a learner's installation has and lacks."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from .datasets import DATASETS, DataSetNotFoundError, downloads_allowed, resolve_dataset
from .devices import try_all_gpus

TROUBLESHOOTING = "see the 'Troubleshooting' section of the README"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "NOT INSTALLED"


def _jupyter_kernels() -> list[str]:
    """Lines saying whether this is a kernel, and which installed kernels run this Python."""
    from IPython import get_ipython

    shell = get_ipython()
    lines = []
    if shell is not None and hasattr(shell, "kernel"):
        lines.append(f"kernel in use: this notebook's kernel runs {sys.executable}")
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        return [*lines, "jupyter_client not installed: JupyterLab cannot run notebooks here"]
    specs = KernelSpecManager().get_all_specs()
    for name, spec in sorted(specs.items()):
        python = spec["spec"]["argv"][0]
        # Jupyter replaces a bare "python" by the Python that runs JupyterLab itself.
        where = "the Python running JupyterLab" if python in ("python", "python3") else python
        lines.append(f"kernel {name!r} runs {where}")
    if not any(spec["spec"]["argv"][0] == sys.executable for spec in specs.values()):
        lines.append(
            "to use this Python from any JupyterLab, register it as a kernel:\n"
            f"      {sys.executable} -m ipykernel install --user --name d2l"
        )
    return lines


def report() -> tuple[list[str], int]:
    """The doctor's report as lines, and the number of problems found."""
    problems = 0
    lines = [
        f"Python       {platform.python_version()} ({sys.executable})",
        f"platform     {platform.platform()}",
    ]
    for package in ("torch", "torchvision", "jupyterlab", "ipykernel", "ipywidgets", "matplotlib"):
        v = _version(package)
        problems += v == "NOT INSTALLED"
        lines.append(f"{package:<12} {v}")
    try:
        import torch

        lines.append(f"devices      {', '.join(str(d) for d in try_all_gpus())}")
        lines.append(f"CUDA build   {torch.version.cuda or 'no (CPU-only build)'}")
    except ImportError as error:  # a broken install, e.g. a torchvision DLL error on Windows
        problems += 1
        lines.append(f"torch cannot be imported: {error}")
    lines.append("Jupyter:")
    lines += [f"  {line}" for line in _jupyter_kernels()]
    lines.append("data sets:")
    for name in DATASETS:
        try:
            paths = resolve_dataset(name, download=False)
            folders = sorted({str(p.parent) for p in paths.values()})
            lines.append(f"  {name:<20} found in {', '.join(folders)}")
        except DataSetNotFoundError as error:
            if downloads_allowed() and all(f.urls for f in DATASETS[name].files):
                # Not a problem: the loaders download and verify it on first use.
                lines.append(f"  {name:<20} not downloaded yet: fetched on first use")
                continue
            problems += 1
            lines.append(
                f"  {name:<20} MISSING; to get it, do one of:"
                + "".join(f"\n      - {remedy}" for remedy in error.remedies)
            )
    return lines, problems


def main() -> int:
    """Print the report; the exit status is 1 if anything is missing."""
    lines, problems = report()
    print("\n".join(lines))
    print(f"\n{problems} problem(s) found" + (f"; {TROUBLESHOOTING}" if problems else ""))
    return 1 if problems else 0
