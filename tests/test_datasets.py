"""The data resolver: local search, verification, downloads and its error messages."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from d2lhelpers.datasets import (
    DATASETS,
    DataFile,
    DataSet,
    DataSetNotFoundError,
    cache_dir,
    downloads_allowed,
    get_data_path,
    resolve_dataset,
    search_dirs,
)

from .conftest import GOOD, GOOD_GZ, md5, sha256

NAME = "fake-set"


def make_dataset(*files: DataFile, system_dirs: tuple[str, ...] = (), name: str = NAME) -> DataSet:
    return DataSet(name, "a fake data set for the tests", "CC0", files, system_dirs=system_dirs)


def good_file(*urls: str, name: str = "good.txt") -> DataFile:
    return DataFile(name, sha256(GOOD), tuple(urls))


def files_in(folder: Path) -> list[str]:
    """Every file under ``folder`` (temporary files included), or [] if it does not exist."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def put(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


# --- where things are ---------------------------------------------------------------------


def test_cache_dir_follows_xdg_cache_home(isolated_data_env):
    assert cache_dir() == isolated_data_env / "d2lhelpers" / "data"


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (None, True),
        ("", True),
        ("0", True),
        ("false", True),
        ("1", False),
        ("yes", False),
        ("TRUE", False),
    ],
)
def test_downloads_allowed_reads_d2l_offline(monkeypatch, value, allowed):
    if value is not None:
        monkeypatch.setenv("D2L_OFFLINE", value)
    assert downloads_allowed() is allowed


def test_search_order(tmp_path, monkeypatch, register):
    data_dir, env1, env2, system = (tmp_path / d for d in ("arg", "env1", "env2", "system"))
    data_dir.mkdir()
    monkeypatch.setenv("D2L_DATA_PATH", f"{env1}:{env2}")
    register(make_dataset(good_file(), system_dirs=(str(system),)))
    assert search_dirs(NAME, data_dir) == [
        data_dir,
        data_dir / NAME,
        env1,
        env1 / NAME,
        env2,
        env2 / NAME,
        cache_dir() / NAME,
        system,
    ]
    assert search_dirs(NAME) == [env1, env1 / NAME, env2, env2 / NAME, cache_dir() / NAME, system]


def test_resolution_follows_the_search_order(tmp_path, monkeypatch, register):
    """data_dir, then D2L_DATA_PATH, then the user cache, then the system folders."""
    data_dir, env, system = tmp_path / "arg", tmp_path / "env", tmp_path / "system"
    monkeypatch.setenv("D2L_DATA_PATH", str(env))
    monkeypatch.setenv("D2L_OFFLINE", "1")
    register(make_dataset(good_file(), system_dirs=(str(system),)))
    copies = [
        put(data_dir, "good.txt", GOOD),
        put(env / NAME, "good.txt", GOOD),  # the per-data-set subfolder is searched too
        put(cache_dir() / NAME, "good.txt", GOOD),
        put(system, "good.txt", GOOD),
    ]
    for expected in copies:
        assert resolve_dataset(NAME, data_dir=data_dir) == {"good.txt": expected}
        expected.unlink()
    with pytest.raises(DataSetNotFoundError, match="no verified copy of 'good.txt'"):
        resolve_dataset(NAME, data_dir=data_dir)


# --- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize("function", [resolve_dataset, get_data_path, search_dirs])
def test_unknown_name_raises_value_error_naming_it(function):
    with pytest.raises(ValueError, match=r"unknown data set name 'no-such-set'.*time-machine"):
        function("no-such-set")


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_data_dir_not_a_directory_raises_value_error(tmp_path, register, kind):
    register(make_dataset(good_file()))
    data_dir = tmp_path / "nowhere"
    if kind == "file":
        data_dir.write_text("not a folder")
    with pytest.raises(ValueError, match=r"data_dir must be an existing directory.*nowhere"):
        resolve_dataset(NAME, data_dir=data_dir)
    with pytest.raises(ValueError, match="data_dir"):
        get_data_path(NAME, data_dir=str(data_dir))


def test_get_data_path_refuses_multi_file_data_sets(server):
    with pytest.raises(ValueError, match=r"'fashion-mnist' has several files.*resolve_dataset"):
        get_data_path("fashion-mnist")
    assert server.total_requests == 0


# --- downloads from a real local HTTP server ------------------------------------------------


def test_good_download_is_verified_cached_and_reused(server, register):
    url = server.serve("/good.txt", GOOD)
    register(make_dataset(good_file(url)))

    paths = resolve_dataset(NAME)
    assert paths == {"good.txt": cache_dir() / NAME / "good.txt"}
    assert paths["good.txt"].read_bytes() == GOOD
    assert files_in(cache_dir()) == [f"{NAME}/good.txt"]  # no temporary file left behind
    assert server.requests["/good.txt"] == 1

    assert resolve_dataset(NAME) == paths  # from the cache ...
    assert get_data_path(NAME) == paths["good.txt"]
    assert server.total_requests == 1  # ... without a second request


def test_wrong_checksum_is_rejected_and_nothing_is_kept(server, register):
    url = server.serve("/good.txt", GOOD[:-1] + b"?")  # same size, wrong bytes
    register(make_dataset(good_file(url)))
    with pytest.raises(DataSetNotFoundError) as error:
        resolve_dataset(NAME)
    message = str(error.value)
    assert f"download from {url} failed" in message
    assert "hash" in message.lower()
    assert server.requests["/good.txt"] == 1
    assert files_in(cache_dir()) == []


def test_truncated_download_is_rejected_and_nothing_is_kept(server, register):
    url = server.serve("/good.txt", GOOD, mode="truncated")
    register(make_dataset(good_file(url)))
    with pytest.raises(DataSetNotFoundError, match=re.escape(f"download from {url} failed")):
        resolve_dataset(NAME)
    assert server.requests["/good.txt"] == 1
    assert files_in(cache_dir()) == []


def test_404_error_lists_the_url(server, register):
    url = server.url("/missing.txt")
    register(make_dataset(good_file(url)))
    with pytest.raises(DataSetNotFoundError) as error:
        resolve_dataset(NAME)
    message = str(error.value)
    assert f"download from {url} failed" in message
    assert "404" in message
    assert f"download {url} yourself" in message
    assert files_in(cache_dir()) == []


def test_next_mirror_is_tried_after_a_failure(server, register):
    bad, good = server.url("/gone.txt"), server.serve("/mirror/good.txt", GOOD)
    register(make_dataset(good_file(bad, good)))
    assert resolve_dataset(NAME)["good.txt"].read_bytes() == GOOD
    assert server.requests == {"/gone.txt": 1, "/mirror/good.txt": 1}


@pytest.mark.parametrize("how", ["env", "argument"])
def test_offline_error_names_set_places_and_remedies(server, register, tmp_path, monkeypatch, how):
    url = server.serve("/good.txt", GOOD)
    register(make_dataset(good_file(url)))
    data_dir = tmp_path / "here"
    data_dir.mkdir()
    if how == "env":
        monkeypatch.setenv("D2L_OFFLINE", "1")
        call = lambda: resolve_dataset(NAME, data_dir=data_dir)  # noqa: E731
    else:
        call = lambda: resolve_dataset(NAME, data_dir=data_dir, download=False)  # noqa: E731
    with pytest.raises(DataSetNotFoundError) as error:
        call()
    message = str(error.value)
    assert message.startswith(f"Data set {NAME!r} (a fake data set for the tests)")
    assert "'good.txt'" in message
    for folder in search_dirs(NAME, data_dir):
        assert f"  - {folder}\n" in message
    assert "downloads are off" in message
    assert f"python -m d2lhelpers download {NAME}" in message
    assert f"download {url} yourself and put it in {cache_dir() / NAME}" in message
    assert "D2L_DATA_PATH" in message
    assert ("unset D2L_OFFLINE" in message) == (how == "env")
    # The same facts as fields, for programs such as `doctor`.
    assert (error.value.dataset, error.value.file) == (NAME, "good.txt")
    assert error.value.searched == search_dirs(NAME, data_dir)
    assert any("downloads are off" in p for p in error.value.problems)
    assert f"python -m d2lhelpers download {NAME}" in error.value.remedies
    assert server.total_requests == 0
    assert files_in(cache_dir()) == []


def test_download_true_overrides_d2l_offline(server, register, monkeypatch):
    register(make_dataset(good_file(server.serve("/good.txt", GOOD))))
    monkeypatch.setenv("D2L_OFFLINE", "1")
    assert resolve_dataset(NAME, download=True)["good.txt"].read_bytes() == GOOD
    assert server.total_requests == 1


def test_gz_download_is_decompressed_and_verified(server, register):
    url = server.serve("/data.bin.gz", GOOD_GZ)
    register(make_dataset(DataFile("data.bin", sha256(GOOD), (url,), md5(GOOD_GZ))))
    paths = resolve_dataset(NAME)
    assert paths == {"data.bin": cache_dir() / NAME / "data.bin"}
    assert paths["data.bin"].read_bytes() == GOOD
    assert files_in(cache_dir()) == [f"{NAME}/data.bin"]  # the .gz is removed once decompressed
    resolve_dataset(NAME)
    assert server.total_requests == 1


def test_gz_download_with_wrong_content_is_rejected(server, register):
    wrong_gz = gzip.compress(GOOD + b"extra", mtime=0)
    url = server.serve("/data.bin.gz", wrong_gz)
    register(make_dataset(DataFile("data.bin", sha256(GOOD), (url,), md5(wrong_gz))))
    with pytest.raises(DataSetNotFoundError, match="checksum of the decompressed content mismatch"):
        resolve_dataset(NAME)
    assert files_in(cache_dir()) == []


def test_gz_download_with_wrong_download_hash_is_rejected(server, register):
    url = server.serve("/data.bin.gz", GOOD_GZ)
    register(make_dataset(DataFile("data.bin", sha256(GOOD), (url,), md5(b"something else"))))
    with pytest.raises(DataSetNotFoundError, match=re.escape(f"download from {url} failed")):
        resolve_dataset(NAME)
    assert files_in(cache_dir()) == []


def test_corrupt_copy_in_cache_is_replaced_by_a_download(server, register):
    register(make_dataset(good_file(server.serve("/good.txt", GOOD))))
    put(cache_dir() / NAME, "good.txt", b"corrupt")
    assert resolve_dataset(NAME)["good.txt"].read_bytes() == GOOD
    assert server.total_requests == 1
    assert files_in(cache_dir()) == [f"{NAME}/good.txt"]


def test_multi_file_data_set_resolves_every_file(server, register):
    other = b"second file\n"
    register(
        make_dataset(
            good_file(server.serve("/good.txt", GOOD)),
            DataFile("other.txt", sha256(other), (server.serve("/other.txt", other),)),
        )
    )
    paths = resolve_dataset(NAME)
    contents = {name: p.read_bytes() for name, p in paths.items()}
    assert contents == {"good.txt": GOOD, "other.txt": other}


# --- local copies ---------------------------------------------------------------------------


def test_corrupt_local_copy_is_skipped_for_a_later_one(server, register, tmp_path, monkeypatch):
    register(make_dataset(good_file(server.serve("/good.txt", GOOD))))
    corrupt = put(tmp_path / "first", "good.txt", b"not the right bytes")
    good = put(tmp_path / "second", "good.txt", GOOD)
    monkeypatch.setenv("D2L_DATA_PATH", f"{corrupt.parent}:{good.parent}")
    assert resolve_dataset(NAME) == {"good.txt": good}
    assert server.total_requests == 0
    assert corrupt.read_bytes() == b"not the right bytes"  # ignored, not deleted


def test_corrupt_local_copy_is_mentioned_if_nothing_else(register, tmp_path, monkeypatch):
    register(make_dataset(good_file()))
    corrupt = put(tmp_path / "first", "good.txt", b"not the right bytes")
    monkeypatch.setenv("D2L_DATA_PATH", str(corrupt.parent))
    problem = f"Problem: {corrupt}: checksum mismatch, ignored"
    with pytest.raises(DataSetNotFoundError, match=re.escape(problem)):
        resolve_dataset(NAME)


def test_local_gz_is_decompressed_into_the_cache(register, tmp_path):
    register(make_dataset(good_file()))
    packed = put(tmp_path / "data", "good.txt.gz", GOOD_GZ)
    paths = resolve_dataset(NAME, data_dir=packed.parent, download=False)
    assert paths == {"good.txt": cache_dir() / NAME / "good.txt"}
    assert paths["good.txt"].read_bytes() == GOOD
    assert packed.read_bytes() == GOOD_GZ
    assert files_in(cache_dir()) == [f"{NAME}/good.txt"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda gz: gz[: len(gz) // 2], id="truncated"),
        pytest.param(
            lambda gz: gz[:10] + bytes(b ^ 0xFF for b in gz[10:40]) + gz[40:], id="bad-deflate"
        ),
        pytest.param(lambda gz: gz[:-8] + bytes(8), id="bad-crc"),
        pytest.param(lambda gz: b"this is not gzip at all", id="not-gzip"),
        pytest.param(lambda gz: gzip.compress(b"other content", mtime=0), id="wrong-content"),
    ],
)
def test_corrupt_local_gz_is_ignored_and_mentioned(register, tmp_path, damage):
    register(make_dataset(good_file()))
    packed = put(tmp_path / "data", "good.txt.gz", damage(GOOD_GZ))
    with pytest.raises(DataSetNotFoundError) as error:
        resolve_dataset(NAME, data_dir=packed.parent, download=False)
    assert f"{packed}: checksum of the decompressed content mismatch, ignored" in str(error.value)
    assert files_in(cache_dir()) == []  # no half-decompressed temporary file


def test_corrupt_local_gz_falls_back_to_a_good_copy_later(register, tmp_path, monkeypatch):
    register(make_dataset(good_file()))
    put(tmp_path / "a", "good.txt.gz", GOOD_GZ[:10] + bytes(30) + GOOD_GZ[40:])
    good = put(tmp_path / "b", "good.txt", GOOD)
    monkeypatch.setenv("D2L_DATA_PATH", str(good.parent))
    assert resolve_dataset(NAME, data_dir=tmp_path / "a", download=False) == {"good.txt": good}


def test_file_without_urls_says_how_to_provide_it(register):
    register(make_dataset(good_file()))
    with pytest.raises(DataSetNotFoundError) as error:
        resolve_dataset(NAME)
    message = str(error.value)
    assert "point D2L_DATA_PATH at a folder that holds good.txt" in message
    assert "python -m d2lhelpers download" not in message


def test_error_is_a_file_not_found_error():
    assert issubclass(DataSetNotFoundError, FileNotFoundError)


# --- the real registry ---------------------------------------------------------------------


def test_registry_entries_are_well_formed():
    names = {"fashion-mnist", "time-machine", "airfoil", "kaggle-house-train", "kaggle-house-test",
             "cmn-eng"}
    assert names <= set(DATASETS)
    for key, dataset in DATASETS.items():
        assert key == dataset.name
        assert dataset.files and dataset.description and dataset.licence
        for file in dataset.files:
            for spec in (file.content_hash, file.download_hash):
                if spec is None:
                    continue
                algorithm, digest = spec.split(":")
                assert len(digest) == hashlib.new(algorithm).digest_size * 2, spec
                int(digest, 16)
            # a data set without a pinned URL must say how to get it by hand
            assert file.urls or dataset.manual_download, key
            assert all(url.startswith(("https://", "http://")) for url in file.urls)
            served_names = {url.rsplit("/", 1)[-1] for url in file.urls}
            assert served_names <= {file.name, file.name + ".gz"}
    fashion = DATASETS["fashion-mnist"]
    assert sorted(f.name for f in fashion.files) == [
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
    ]
    assert fashion.debian_package == "dataset-fashion-mnist"


def test_time_machine_from_the_shared_data_folder(shared_data, server):
    paths = resolve_dataset("time-machine", data_dir=shared_data, download=False)
    assert paths == {"timemachine.txt": shared_data / "timemachine.txt"}
    assert "THE TIME MACHINE" in paths["timemachine.txt"].read_text(encoding="utf-8").upper()


@pytest.mark.parametrize(
    ("name", "file_name"),
    [
        ("time-machine", "timemachine.txt"),
        ("airfoil", "airfoil_self_noise.dat"),
        ("kaggle-house-train", "kaggle_house_pred_train.csv"),
        ("kaggle-house-test", "kaggle_house_pred_test.csv"),
        ("cmn-eng", "cmn-eng/cmn.txt"),
    ],
)
def test_shared_data_matches_registry_checksums(shared_data, monkeypatch, name, file_name):
    monkeypatch.setenv("D2L_DATA_PATH", str(shared_data))
    monkeypatch.setenv("D2L_OFFLINE", "1")
    assert get_data_path(name) == shared_data / file_name
    assert files_in(cache_dir()) == []


def test_shared_data_copy_with_a_wrong_checksum_is_not_trusted(shared_data, tmp_path, monkeypatch):
    copy = put(tmp_path, "timemachine.txt", (shared_data / "timemachine.txt").read_bytes() + b"\n")
    monkeypatch.setenv("D2L_OFFLINE", "1")
    with pytest.raises(DataSetNotFoundError, match=re.escape(f"{copy}: checksum mismatch")):
        resolve_dataset("time-machine", data_dir=tmp_path)


def test_the_tests_cannot_reach_the_internet():
    # A real registry file that is nowhere on disk here: its download must fail at once.
    with pytest.raises(DataSetNotFoundError, match="the unit tests run offline"):
        resolve_dataset("time-machine")


def test_a_data_set_without_a_pinned_url_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("D2L_DATA_PATH", str(tmp_path))
    with pytest.raises(DataSetNotFoundError) as caught:
        resolve_dataset("cmn-eng")
    message = str(caught.value)
    assert "https://www.manythings.org/anki/cmn-eng.zip" in message
    assert f"cmn.txt it contains in {cache_dir() / 'cmn-eng'}" in message
    assert "bc8bcce0429e1601f393e603a93441d4b3ce645e" in message
    assert "python -m d2lhelpers download" not in message  # there is nothing to download from
    assert tmp_path / "cmn-eng" in caught.value.searched


def test_cmn_eng_lines_are_english_chinese_attribution(shared_data):
    path = get_data_path("cmn-eng", data_dir=shared_data)
    text = path.read_text(encoding="utf-8-sig")  # it starts with a byte order mark
    lines = text.removesuffix("\n\n").split("\n")  # and ends with an empty line
    assert len(lines) == 29_155
    english, chinese, attribution = lines[0].split("\t")
    assert english == "Hi." and "CC-BY" in attribution
    assert all(line.count("\t") == 2 for line in lines)
