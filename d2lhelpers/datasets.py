"""Finding, verifying and downloading the book's data sets.

Every loader asks :func:`resolve_dataset` for its files. It looks, in this order, in

1. the ``data_dir`` argument,
2. each directory listed in the ``D2L_DATA_PATH`` environment variable,
3. the user cache (``platformdirs.user_cache_path("d2lhelpers") / "data"``),
4. known system paths (Debian's ``dataset-fashion-mnist`` package, for instance),

accepting a file only if its checksum matches. A file may also be stored gzip-compressed as
``NAME.gz``; it is then decompressed once into the cache. If nothing matches, the file is
downloaded with :mod:`pooch`, which writes to a temporary file, checks the hash and only then
renames it, so a failed or corrupt download is never used. Setting ``D2L_OFFLINE=1`` forbids
downloads. When every place fails, :class:`DataSetNotFoundError` lists where it looked and the
commands that would provide the file.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import pooch
from torchvision.datasets import FashionMNIST

from .reduced import env_flag

DATA_PATH_ENV = "D2L_DATA_PATH"
"""Environment variable: directories to search, separated by ``os.pathsep``."""

OFFLINE_ENV = "D2L_OFFLINE"
"""Environment variable: set to ``1`` to forbid downloads."""

D2L_DATA_URL = "https://d2l-data.s3-accelerate.amazonaws.com/"


@dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    Attributes:
        name: file name, e.g. ``"timemachine.txt"``.
        content_hash: ``"sha1:<hex>"`` or ``"sha256:<hex>"`` of the uncompressed content.
        urls: where to download it, tried in order.
        download_hash: hash of what the URLs serve (``"md5:<hex>"`` of a ``.gz``, say) when it
            differs from ``content_hash``.
    """

    name: str
    content_hash: str
    urls: tuple[str, ...] = ()
    download_hash: str | None = None


@dataclass(frozen=True)
class DataSet:
    """A named data set: its files, where it comes from, and how a user can get it."""

    name: str
    description: str
    licence: str
    files: tuple[DataFile, ...]
    system_dirs: tuple[str, ...] = ()
    debian_package: str | None = None
    manual_download: str | None = None
    """How to get the files by hand where no pinned URL serves the verified bytes; may use
    ``{target_dir}``, the user cache folder of the data set."""


class DataSetNotFoundError(FileNotFoundError):
    """No verified copy of a data set's file was found and none could be downloaded.

    Attributes:
        dataset: the data set's name, e.g. ``"fashion-mnist"``.
        file: the name of the file that is missing.
        searched: every directory looked in, in order.
        problems: what went wrong on the way (checksum mismatches, failed downloads).
        remedies: commands or steps, any one of which provides the file.
    """

    def __init__(
        self,
        dataset: str,
        file: str,
        searched: list[Path],
        problems: list[str],
        remedies: list[str],
    ) -> None:
        self.dataset, self.file = dataset, file
        self.searched, self.problems, self.remedies = searched, problems, remedies
        description = DATASETS[dataset].description if dataset in DATASETS else dataset
        super().__init__(
            f"Data set {dataset!r} ({description}): no verified copy of {file!r}.\n"
            f"Looked for {file} and {file}.gz in:\n"
            + "".join(f"  - {d}\n" for d in searched)
            + "".join(f"Problem: {p}\n" for p in problems)
            + "To get it, do one of:\n"
            + "".join(f"  - {r}\n" for r in remedies)
        )


def _d2l_file(name: str, sha1: str) -> DataFile:
    return DataFile(name, f"sha1:{sha1}", (D2L_DATA_URL + name,))


# Content hashes of the Fashion-MNIST IDX files (decompressed); the .gz files differ between
# Zalando's release and Debian's package, so only the content can be checked everywhere.
_FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

DATASETS: dict[str, DataSet] = {
    ds.name: ds
    for ds in (
        DataSet(
            "fashion-mnist",
            "Fashion-MNIST: 70,000 28x28 grey-scale images of clothing in 10 classes "
            "(Xiao, Rasul and Vollgraf, 2017)",
            "MIT",
            tuple(
                DataFile(
                    gz_name.removesuffix(".gz"),
                    f"sha256:{_FASHION_MNIST_SHA256[gz_name.removesuffix('.gz')]}",
                    tuple(mirror + gz_name for mirror in FashionMNIST.mirrors),
                    f"md5:{md5}",
                )
                for gz_name, md5 in FashionMNIST.resources
            ),
            system_dirs=("/usr/share/datasets/fashion-mnist",),
            debian_package="dataset-fashion-mnist",
        ),
        DataSet(
            "time-machine",
            "H. G. Wells, The Time Machine (Project Gutenberg text)",
            "public domain",
            (_d2l_file("timemachine.txt", "090b5e7e70c295757f55df93cb0a180b9691891a"),),
        ),
        DataSet(
            "airfoil",
            "NASA airfoil self-noise, 1,503 rows x 6 columns (UCI ML repository)",
            "CC BY 4.0",
            (_d2l_file("airfoil_self_noise.dat", "76e5be1548fd8222e5074cf0faae75edff8cf93f"),),
        ),
        DataSet(
            "kaggle-house-train",
            "Ames house prices, training split (1,460 rows, 81 columns)",
            "as distributed by the d2l book",
            (_d2l_file("kaggle_house_pred_train.csv", "585e9cc93e70b39160e7921475f9bcd7d31219ce"),),
        ),
        DataSet(
            "kaggle-house-test",
            "Ames house prices, test split (1,459 rows, no SalePrice)",
            "as distributed by the d2l book",
            (_d2l_file("kaggle_house_pred_test.csv", "fa19780a7b011d9b009e8bff8e99922a8ee2eb90"),),
        ),
        DataSet(
            "cmn-eng",
            "Tatoeba English-Chinese sentence pairs, 29,155 lines "
            "'english<TAB>chinese<TAB>attribution' (Tatoeba project via manythings.org/anki)",
            "CC BY 2.0 FR (attribution in column 3)",
            # Tatoeba's export grows every week and no archive pins this version, so there is
            # no URL whose bytes match the checksum.
            (DataFile("cmn.txt", "sha1:bc8bcce0429e1601f393e603a93441d4b3ce645e"),),
            manual_download=(
                "download https://www.manythings.org/anki/cmn-eng.zip and put the cmn.txt it "
                "contains in {target_dir}. The book's outputs come from the export with 29,155 "
                "pairs (SHA-1 bc8bcce0429e1601f393e603a93441d4b3ce645e); a newer export has more "
                "lines and fails the checksum, so ask your course for that copy"
            ),
        ),
    )
}


def cache_dir() -> Path:
    """The user cache for data sets, e.g. ``~/.cache/d2lhelpers/data`` on Linux."""
    return platformdirs.user_cache_path("d2lhelpers") / "data"


def downloads_allowed() -> bool:
    """False when ``D2L_OFFLINE=1``.

    Raises:
        ValueError: if ``D2L_OFFLINE`` holds something other than a boolean flag.
    """
    return not env_flag(OFFLINE_ENV)


def _get_dataset(name: str) -> DataSet:
    if name not in DATASETS:
        raise ValueError(f"unknown data set name {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def search_dirs(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Every directory searched for data set ``name``, in order (see the module docstring).

    Raises:
        ValueError: if ``name`` is unknown or ``data_dir`` is not an existing directory.
    """
    dataset = _get_dataset(name)
    roots = []
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise ValueError(f"data_dir must be an existing directory, got {str(data_dir)!r}")
        roots.append(Path(data_dir))
    roots += [Path(p) for p in os.environ.get(DATA_PATH_ENV, "").split(os.pathsep) if p]
    dirs = [d for root in roots for d in (root, root / dataset.name)]
    dirs.append(cache_dir() / dataset.name)
    dirs += [Path(d) for d in dataset.system_dirs]
    return dirs


def _hash_matches(stream_path: Path, expected: str, gzipped: bool) -> bool:
    algorithm, digest = expected.split(":")
    hasher = hashlib.new(algorithm)
    with (gzip.open if gzipped else open)(stream_path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest() == digest


def _decompress_verified(source: Path, file: DataFile, target_dir: Path) -> Path | None:
    """Decompress ``source`` into ``target_dir / file.name`` if its content hash matches."""
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target_dir, delete=False) as tmp:
        try:
            with gzip.open(source, "rb") as f:
                shutil.copyfileobj(f, tmp)
        except (OSError, EOFError, zlib.error):
            pass  # a corrupt archive fails the hash check below
    tmp_path = Path(tmp.name)
    if not _hash_matches(tmp_path, file.content_hash, gzipped=False):
        tmp_path.unlink()
        return None
    return tmp_path.replace(target_dir / file.name)


def _find_local(
    file: DataFile, dirs: list[Path], target_dir: Path, problems: list[str]
) -> Path | None:
    for d in dirs:
        plain, packed = d / file.name, d / (file.name + ".gz")
        if plain.is_file():
            if _hash_matches(plain, file.content_hash, gzipped=False):
                return plain
            problems.append(f"{plain}: checksum mismatch, ignored")
        if packed.is_file():
            path = _decompress_verified(packed, file, target_dir)
            if path is not None:
                return path
            problems.append(f"{packed}: checksum of the decompressed content mismatch, ignored")
    return None


def _download(file: DataFile, target_dir: Path, problems: list[str]) -> Path | None:
    for url in file.urls:
        served_name = url.rsplit("/", 1)[-1]
        try:
            served = Path(
                pooch.retrieve(
                    url,
                    known_hash=file.download_hash or file.content_hash,
                    fname=served_name,
                    path=target_dir,
                    progressbar=True,
                )
            )
        except Exception as error:  # network errors, HTTP errors, checksum mismatch
            problems.append(f"download from {url} failed: {error}")
            continue
        if served.name == file.name:
            return served
        path = _decompress_verified(served, file, target_dir)
        served.unlink()
        if path is not None:
            return path
        problems.append(f"download from {url}: checksum of the decompressed content mismatch")
    return None


def _how_to_get(dataset: DataSet, file: DataFile, target_dir: Path) -> list[str]:
    ways = []
    if dataset.debian_package:
        ways.append(f"sudo apt-get install {dataset.debian_package}   (Debian/Ubuntu)")
    if file.urls:
        if not downloads_allowed():
            ways.append(f"allow downloads: unset {OFFLINE_ENV}, then run it again")
        ways.append(f"python -m d2lhelpers download {dataset.name}")
        ways.append(f"download {file.urls[0]} yourself and put it in {target_dir}")
    elif dataset.manual_download:
        ways.append(dataset.manual_download.format(target_dir=target_dir))
    ways.append(f"or point {DATA_PATH_ENV} at a folder that holds {file.name}")
    return ways


def resolve_dataset(
    name: str, data_dir: str | Path | None = None, download: bool | None = None
) -> dict[str, Path]:
    """Local paths of every file of data set ``name``, each verified against its checksum.

    Args:
        name: a key of :data:`DATASETS`, e.g. ``"fashion-mnist"`` or ``"time-machine"``.
        data_dir: a directory to search first.
        download: whether a missing file may be downloaded; ``None`` means yes unless
            ``D2L_OFFLINE`` is set.

    Returns:
        File name -> path of the verified, uncompressed file.

    Raises:
        ValueError: if ``name`` is unknown or ``data_dir`` is not a directory.
        DataSetNotFoundError: if a file is nowhere to be found and cannot be downloaded; the
            message lists every place looked and how to get the file.
    """
    dataset = _get_dataset(name)
    dirs = search_dirs(name, data_dir)
    target_dir = cache_dir() / dataset.name
    download = downloads_allowed() if download is None else download
    paths = {}
    for file in dataset.files:
        problems: list[str] = []
        path = _find_local(file, dirs, target_dir, problems)
        if path is None and download:
            path = _download(file, target_dir, problems)
        if path is None:
            if not download:
                problems.append(f"downloads are off ({OFFLINE_ENV}=1 or download=False)")
            raise DataSetNotFoundError(
                name, file.name, dirs, problems, _how_to_get(dataset, file, target_dir)
            )
        paths[file.name] = path
    return paths


def get_data_path(name: str, data_dir: str | Path | None = None) -> Path:
    """Local path of the single file of data set ``name`` (e.g. ``"kaggle-house-train"``).

    Raises:
        ValueError: if ``name`` is unknown or has several files (use :func:`resolve_dataset`).
        DataSetNotFoundError: as :func:`resolve_dataset`.
    """
    if len(_get_dataset(name).files) != 1:
        raise ValueError(f"data set {name!r} has several files; use resolve_dataset({name!r})")
    (path,) = resolve_dataset(name, data_dir).values()
    return path
