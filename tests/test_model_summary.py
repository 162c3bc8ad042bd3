import pytest
import torch
from torch import nn

from d2lhelpers.model_summary import count_parameters, layer_summary, multiply_adds


def test_count_parameters_counts_weights_and_biases():
    assert count_parameters(nn.Linear(4, 3)) == 4 * 3 + 3
    assert count_parameters(nn.ReLU()) == 0


def test_multiply_adds_of_linear_and_convolution_layers():
    assert multiply_adds(nn.Linear(4, 3), (2, 4)) == 2 * 4 * 3
    conv = nn.Conv2d(2, 5, kernel_size=3)  # 8 x 8 input -> 6 x 6 output
    assert multiply_adds(conv, (1, 2, 8, 8)) == 5 * 2 * 9 * 6 * 6


def test_multiply_adds_restores_training_mode_and_works_on_meta():
    net = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    net.train()
    multiply_adds(net, (1, 4))
    assert net.training
    with torch.device("meta"):
        big = nn.Linear(10_000, 10_000)
    assert multiply_adds(big, (1, 10_000)) == 10**8


def test_layer_summary_rows_and_total():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 5 * 5, 2))
    table = layer_summary(net, (1, 1, 5, 5))
    assert list(table["layer"]) == ["Conv2d", "ReLU", "Flatten", "Linear", "total"]
    assert list(table["output shape"][:4]) == [(4, 5, 5), (4, 5, 5), (100,), (2,)]
    assert list(table["parameters"]) == [40, 0, 0, 202, 242]
    assert list(table["multiply-adds"]) == [4 * 9 * 25, 0, 0, 200, 900 + 200]


@pytest.mark.parametrize("shape", [(4,), (1, 0, 5, 5), (1, 1.5, 5, 5)])
def test_bad_input_shape_names_the_argument(shape):
    with pytest.raises(ValueError, match="input_shape"):
        multiply_adds(nn.Identity(), shape)


def test_layer_summary_needs_a_sequential():
    with pytest.raises(TypeError, match="nn.Sequential"):
        layer_summary(nn.Linear(2, 2), (1, 2))
