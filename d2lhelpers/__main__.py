"""Command line: ``python -m d2lhelpers doctor``, ``download`` and ``grade``."""

from __future__ import annotations

import argparse
import sys

from . import doctor, grading
from .datasets import DATASETS, DataSetNotFoundError, resolve_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d2lhelpers")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check the installation, devices, kernels and data sets")
    download = commands.add_parser("download", help="fetch data sets into the user cache")
    download.add_argument("names", nargs="*", choices=[[], *DATASETS], help="default: all")
    grade = commands.add_parser("grade", help="grade a folder of assignment notebooks (otter)")
    grading.add_arguments(grade)
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor.main()
    if args.command == "grade":
        return grading.main(args)
    for name in args.names or DATASETS:
        try:
            paths = resolve_dataset(name)
        except DataSetNotFoundError as error:  # its message says how to get the file
            print(error, file=sys.stderr)
            return 1
        print(f"{name}: " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
