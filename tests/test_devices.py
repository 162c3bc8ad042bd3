"""Device selection, on this machine and with the GPU count faked."""

from __future__ import annotations

import pytest
import torch

from d2lhelpers import cpu, devices, num_gpus, try_all_gpus, try_gpu


@pytest.fixture
def no_accelerator(monkeypatch):
    """Behave as a laptop with neither CUDA nor MPS, whatever this machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)


def fake_cuda(monkeypatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_cpu():
    assert cpu() == torch.device("cpu")


def test_this_machine_is_consistent():
    assert num_gpus() == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    if num_gpus():
        assert try_gpu() == torch.device("cuda:0")
        assert try_all_gpus() == [torch.device(f"cuda:{i}") for i in range(num_gpus())]
    elif not devices._mps_available():
        assert try_gpu() == cpu()
        assert try_gpu(3) == cpu()
        assert try_all_gpus() == [cpu()]


def test_without_accelerator_everything_is_cpu(no_accelerator):
    assert num_gpus() == 0
    assert try_gpu() == torch.device("cpu")
    assert try_gpu(1) == torch.device("cpu")
    assert try_all_gpus() == [torch.device("cpu")]


def test_with_two_cuda_gpus(monkeypatch):
    fake_cuda(monkeypatch, 2)
    assert num_gpus() == 2
    assert try_gpu(0) == torch.device("cuda:0")
    assert try_gpu(1) == torch.device("cuda:1")
    assert try_gpu(2) == torch.device("cpu")
    assert try_all_gpus() == [torch.device("cuda:0"), torch.device("cuda:1")]


def test_mps_is_used_only_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: True)
    assert try_gpu(0) == torch.device("mps")
    assert try_gpu(1) == torch.device("cpu")
    assert try_all_gpus() == [torch.device("mps")]
    fake_cuda(monkeypatch, 1)
    assert try_gpu(0) == torch.device("cuda:0")


@pytest.mark.parametrize("i", [-1, 1.0, "0", None, True])
def test_try_gpu_bad_index_raises(i):
    with pytest.raises(ValueError, match=r"try_gpu\(i\): i must be an int >= 0"):
        try_gpu(i)
