"""The quick tour's prediction cell on a machine whose network lives on a GPU.

``train_classifier`` moves the network to ``try_gpu()``; a prediction cell that fed it CPU
tensors would fail on every CUDA or Apple-MPS machine. Here PyTorch's ``meta`` device stands in
for the GPU: tensors there have shapes but no data, and mixing them with CPU tensors raises just
as mixing CPU and CUDA tensors does.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import d2lhelpers as d2l

TOUR = Path(__file__).parents[1] / "notebooks" / "00-introduction" / "01-quick-tour.ipynb"


def prediction_cell() -> str:
    cells = json.loads(TOUR.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    (source,) = [s for s in sources if "preds = net(" in s]
    return source


@pytest.fixture
def copies_from_fake_gpu(monkeypatch):
    """Copying a meta tensor to the CPU yields zeros of its shape, as a GPU would yield data."""
    to_cpu = torch.Tensor.cpu
    monkeypatch.setattr(
        torch.Tensor,
        "cpu",
        lambda self: torch.zeros(self.shape, dtype=self.dtype) if self.is_meta else to_cpu(self),
    )


def test_meta_stands_in_for_a_gpu():
    net = nn.Linear(784, 10).to("meta")
    with pytest.raises((RuntimeError, NotImplementedError)):
        net(torch.zeros(2, 784)) + torch.zeros(2, 10)  # a CPU tensor meets the "GPU"


def test_prediction_cell_moves_the_images_to_the_network(copies_from_fake_gpu):
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).to("meta")  # as after training
    X, y = torch.rand(8, 1, 28, 28), torch.arange(8) % 10
    shown = []
    helpers = SimpleNamespace(
        get_fashion_mnist_labels=d2l.get_fashion_mnist_labels,
        show_images=lambda images, *args, **kwargs: shown.append(images),
    )
    namespace = {"net": net, "test_iter": [(X, y)], "d2l": helpers}
    exec(prediction_cell(), namespace)
    assert namespace["preds"].device == torch.device("cpu")
    assert namespace["preds"].shape == (8,)
    assert len(shown) == 1 and shown[0].device == torch.device("cpu")
