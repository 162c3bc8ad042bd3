"""A trained network handed over as plain data, and run by the grader without student code.

The sandbox side, :func:`export_network`, traces the student's ``net`` with ``torch.export``
into ATen operations on a fixed batch of images and describes the traced graph as plain data:
for each operation its name and arguments, and every tensor the network stores. The grader
side, :class:`Network`, runs that description with the ATen operations of an allow-list. So
whatever Python built the network (``nn.Sequential``, a class of the student's own, parameters
made by hand), the grader computes the same function and counts the numbers it stores, and no
code the submission defined ever runs in the grader's process.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

BATCH_SIZE = 500
"""Images per call of an exported network: its traced graph has this batch size built in."""
IMAGE_SHAPE = (1, 28, 28)
MAX_VALUES = 20_000_000
"""Most numbers a handed-over network may store; the grader refuses larger ones."""
MAX_OPERATIONS = 2_000
MAX_RESULT_VALUES = 250_000_000
"""Most numbers one operation may compute for a batch (1 GB of float32); the widest layer
of a network a laptop trains in minutes computes a few tens of millions."""
PROBE_TOLERANCE = 1e-4
"""Largest difference, relative to the logits' size, between the student's ``net`` and the
grader's run of its export on the same random images (float32 noise is about 1e-6)."""

ALLOWED_OPERATIONS = frozenset("""
    conv1d conv2d convolution linear addmm mm matmul bmm
    relu relu_ gelu silu sigmoid tanh leaky_relu elu hardtanh hardswish softplus
    softmax log_softmax _softmax _log_softmax
    max_pool2d max_pool2d_with_indices avg_pool2d adaptive_avg_pool2d adaptive_max_pool2d
    batch_norm _native_batch_norm_legit_no_training layer_norm group_norm dropout
    flatten view reshape _unsafe_view permute transpose t contiguous clone alias
    squeeze unsqueeze expand select slice cat stack chunk split unbind
    add sub mul div neg abs pow sqrt rsqrt exp log clamp mean sum amax
""".split())
"""ATen operations (``torch.ops.aten``) the grader runs: those of the standard layers, in the
form ``torch.export`` writes them, and the tensor arithmetic between them."""
_SPECIAL_TYPES: dict[str, tuple[type, Callable[[str], Any]]] = {
    "dtype": (torch.dtype, lambda name: getattr(torch, name)),
    "device": (torch.device, lambda name: torch.device("cpu")),  # the grader runs on the CPU
    "layout": (torch.layout, lambda name: getattr(torch, name)),
    "memory_format": (torch.memory_format, lambda name: getattr(torch, name)),
}


def probe_images(count: int = BATCH_SIZE) -> Tensor:
    """Random images ``(count, 1, 28, 28)`` in [0, 1], the same on every machine."""
    return torch.rand(count, *IMAGE_SHAPE, generator=torch.Generator().manual_seed(0))


def _encode(value: Any) -> Any:
    """An argument of a traced operation as plain data."""
    if isinstance(value, torch.fx.Node):
        return {"node": value.name}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    for key, (kind, _) in _SPECIAL_TYPES.items():
        if isinstance(value, kind):
            return {key: str(value).removeprefix("torch.")}
    raise ValueError(f"the traced network has an argument of type {type(value).__name__}")


def _operation_name(target: Any) -> str:
    return "getitem" if target is operator.getitem else str(target)


def export_network(net: Any) -> dict[str, Any]:
    """``net`` in evaluation mode, as plain data that :class:`Network` runs.

    Runs in the student's kernel, where ``net`` was trained.

    Args:
        net: a ``torch.nn.Module`` mapping images ``(B, 1, 28, 28)`` to logits ``(B, 10)``.

    Returns:
        ``inputs`` (graph input name -> the tensor's key, or ``None`` for the images),
        ``tensors`` (every parameter, buffer and constant), ``operations`` (name, ATen
        operation and encoded arguments, in order), ``output`` (the node computing the logits)
        and ``probe_outputs``: ``net``'s logits on :func:`probe_images`.

    Raises:
        TypeError: if ``net`` is not a ``torch.nn.Module``.
        ValueError: if ``torch.export`` cannot trace it or it does not return logits.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"`net` must be a torch.nn.Module, got {type(net).__name__}")
    net = net.cpu().eval()
    images = probe_images()
    with torch.no_grad():
        logits = net(images)
    if not isinstance(logits, Tensor) or tuple(logits.shape) != (BATCH_SIZE, 10):
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"`net` should map images (B, 1, 28, 28) to logits (B, 10), got {shape}")
    try:
        program = torch.export.export(net, (images,))
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"torch.export could not trace `net`: {type(error).__name__}: "
                         f"{first_line}") from None  # fmt: skip
    signature = program.graph_signature
    outputs = [s.arg.name for s in signature.output_specs if s.kind.name == "USER_OUTPUT"]
    operations = [
        {"name": node.name, "op": _operation_name(node.target),
         "args": _encode(node.args), "kwargs": {k: _encode(v) for k, v in node.kwargs.items()}}
        for node in program.graph.nodes if node.op == "call_function"
    ]  # fmt: skip
    stored = {**program.state_dict, **program.constants}
    return {
        "inputs": {s.arg.name: s.target for s in signature.input_specs},
        "tensors": {key: t.detach().clone() for key, t in stored.items()},
        "operations": operations,
        "output": outputs[0] if len(outputs) == 1 else outputs,
        "probe_outputs": logits.detach().float().clone(),
    }


class Network:
    """A handed-over network (see :func:`export_network`), run by the grader.

    Before running it on real images, the grader runs it on the ``meta`` device, which
    computes only shapes, and refuses a description whose results would not fit in memory.

    Args:
        exported: what :func:`export_network` returned, loaded as plain data.

    Raises:
        ValueError: if it uses an operation outside :data:`ALLOWED_OPERATIONS`, stores more
            than :data:`MAX_VALUES` numbers, has an intermediate result of more than
            :data:`MAX_RESULT_VALUES` numbers, is malformed, or computes other logits than the
            student's ``net`` did on the probe images.
    """

    def __init__(self, exported: Mapping[str, Any]) -> None:
        try:
            self.tensors: dict[str, Tensor] = dict(exported["tensors"])
            self.inputs: dict[str, str | None] = dict(exported["inputs"])
            self.operations = [
                (op["name"], self._resolve(op["op"]), op["args"], op["kwargs"])
                for op in exported["operations"]
            ]
            self.output: str = exported["output"]
            probe_outputs = exported["probe_outputs"]
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed network description ({error!r})") from None
        if not isinstance(self.output, str):
            raise ValueError(f"`net` must return one tensor of logits, not {self.output!r}")
        if len(self.operations) > MAX_OPERATIONS:
            raise ValueError(f"`net` has more than {MAX_OPERATIONS} operations")
        if not all(isinstance(t, Tensor) for t in self.tensors.values()):
            raise ValueError("the network description holds something other than tensors")
        if self.num_values > MAX_VALUES:
            raise ValueError(f"`net` stores {self.num_values:,} numbers; at most "
                             f"{MAX_VALUES:,} are graded")  # fmt: skip
        keys = list(self.inputs.values())
        if keys.count(None) != 1 or any(k not in self.tensors for k in keys if k is not None):
            raise ValueError("`net` must take exactly one input, the images")
        self._check_shapes()
        with torch.no_grad():
            error = float((self(probe_images()) - probe_outputs).abs().max())
        scale = float(probe_outputs.abs().max()) + 1.0
        if not error <= PROBE_TOLERANCE * scale:
            raise ValueError(f"the grader's run of `net` differs from the student's by up to "
                             f"{error:.3g} on random images; does `net` depend on anything "
                             "but its input?")  # fmt: skip

    @staticmethod
    def _resolve(name: str) -> Callable[..., Any]:
        if name == "getitem":
            return operator.getitem
        namespace, _, rest = str(name).partition(".")
        packet, _, overload = rest.partition(".")
        if namespace != "aten" or packet not in ALLOWED_OPERATIONS:
            raise ValueError(f"`net` uses the operation {name}, which the grader does not run; "
                             "build it from standard layers (torch.nn)")  # fmt: skip
        try:
            return getattr(getattr(torch.ops.aten, packet), overload)
        except AttributeError:
            raise ValueError(f"there is no operation {name}") from None

    def _check_shapes(self) -> None:
        """Run on the ``meta`` device: every result fits, and the output is ``(B, 10)``."""
        meta = {key: t.to("meta") for key, t in self.tensors.items()}
        images = torch.empty(BATCH_SIZE, *IMAGE_SHAPE, device="meta")
        try:
            logits = self._run(images, meta, max_values=MAX_RESULT_VALUES)
        except ValueError:
            raise
        except Exception as error:  # a malformed description: the operation says what failed
            raise ValueError(f"the grader cannot run `net`: {type(error).__name__}: "
                             f"{str(error)[:200]}") from None  # fmt: skip
        if not isinstance(logits, Tensor) or tuple(logits.shape) != (BATCH_SIZE, 10):
            raise ValueError("`net` must map images (B, 1, 28, 28) to logits (B, 10)")

    @property
    def operation_names(self) -> list[str]:
        """The ATen operations the network runs, in order, e.g. ``["flatten", "linear", ...]``."""
        return [getattr(op, "_opname", op.__name__) for _, op, _, _ in self.operations]

    @property
    def num_values(self) -> int:
        """Numbers the network stores: parameters, buffers (e.g. batch-norm statistics) and
        constants, all counted."""
        return sum(t.numel() for t in self.tensors.values())

    @staticmethod
    def _decode(value: Any, env: Mapping[str, Any]) -> Any:
        if isinstance(value, list):
            return [Network._decode(v, env) for v in value]
        if isinstance(value, dict):
            ((key, item),) = value.items()
            if key == "node":
                return env[item]
            kind, make = _SPECIAL_TYPES[key]
            decoded = make(item)
            if not isinstance(decoded, kind):
                raise ValueError(f"{item!r} is not a {key}")
            return decoded
        return value

    def _run(self, images: Tensor, tensors: Mapping[str, Tensor], max_values: int | None = None):
        env: dict[str, Any] = {
            name: images if key is None else tensors[key] for name, key in self.inputs.items()
        }
        for name, operation, args, kwargs in self.operations:
            result = operation(*self._decode(args, env),
                               **{k: self._decode(v, env) for k, v in kwargs.items()})  # fmt: skip
            results = result if isinstance(result, (tuple, list)) else [result]
            sizes = [r.numel() for r in results if isinstance(r, Tensor)]
            if max_values is not None and sum(sizes) > max_values:
                raise ValueError(f"`net` computes a result of {sum(sizes):,} numbers in "
                                 f"{name}; at most {max_values:,} are run")  # fmt: skip
            env[name] = result
        return env[self.output]

    def __call__(self, images: Tensor) -> Tensor:
        """Logits ``(BATCH_SIZE, 10)`` of images ``(BATCH_SIZE, 1, 28, 28)`` in [0, 1]."""
        return self._run(images, self.tensors)

    def logits(self, images: Tensor) -> Tensor:
        """Logits ``(N, 10)`` of uint8 images ``(N, 28, 28)``, computed in batches of
        :data:`BATCH_SIZE` (the last one padded)."""
        outputs = []
        with torch.no_grad():
            for batch in images.split(BATCH_SIZE):
                X = torch.zeros(BATCH_SIZE, *IMAGE_SHAPE)
                X[: len(batch), 0] = batch.float() / 255
                outputs.append(self(X)[: len(batch)])
        return torch.cat(outputs)
