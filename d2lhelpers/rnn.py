"""Training, scoring and sampling recurrent language models (chapter 5).

Every model here has one interface, the one the RNN notebooks build from scratch:

- ``net(X, state) -> (logits, state)`` with ``X`` int64 token indices of shape ``(B, S)``
  (batch first) and ``logits`` of shape ``(B, S, V)``: the scores of the token that follows
  each input token;
- ``net.begin_state(batch_size, device) -> state``: the state before the first token (a tensor,
  or a tuple of tensors for an LSTM).

:class:`RNNModel` wraps PyTorch's ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` in this interface.
Gradient clipping uses ``torch.nn.utils.clip_grad_norm_``; the notebook on RNNs from scratch
writes it out and checks that the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .animator import Animator
from .devices import try_gpu
from .text import Vocab
from .timing import Timer
from .validation import check_int, check_number

State = Tensor | tuple[Tensor, ...]
Batches = Iterable[tuple[Tensor, Tensor]]


class RNNModel(nn.Module):
    """A recurrent layer of PyTorch followed by a linear output layer, for a language model.

    Tokens enter as one-hot vectors (``F.one_hot``), as in the from-scratch model.

    Args:
        rnn_layer: an ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM`` with ``input_size == vocab_size``
            and ``batch_first=True``.
        vocab_size: ``V``, the number of token indices.

    Shapes:
        ``forward(X, state)``: ``X`` int64 ``(B, S)``; returns logits ``(B, S, V)`` and the new
        state, ``(L * D, B, H)`` for ``L`` layers, ``D`` directions and ``H`` hidden units (a
        pair of them for an LSTM).

    Raises:
        TypeError: if ``rnn_layer`` is not an ``nn.RNNBase`` (RNN, GRU, LSTM).
        ValueError: if its ``input_size`` is not ``vocab_size`` or it is not ``batch_first``.

    Source: ``RNNModel`` of d2l §9.6 (concise implementation of RNNs), batch first.
    """

    def __init__(self, rnn_layer: nn.RNNBase, vocab_size: int) -> None:
        super().__init__()
        if not isinstance(rnn_layer, nn.RNNBase):
            raise TypeError(
                f"rnn_layer must be an nn.RNN, nn.GRU or nn.LSTM, got {type(rnn_layer).__name__}"
            )
        check_int("vocab_size", vocab_size)
        if rnn_layer.input_size != vocab_size:
            raise ValueError(
                f"rnn_layer.input_size={rnn_layer.input_size} must equal vocab_size={vocab_size}"
                " (the inputs are one-hot vectors)"
            )
        if not rnn_layer.batch_first:
            raise ValueError("rnn_layer must be made with batch_first=True")
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        directions = 2 if rnn_layer.bidirectional else 1
        self.linear = nn.Linear(rnn_layer.hidden_size * directions, vocab_size)

    def forward(self, X: Tensor, state: State) -> tuple[Tensor, State]:
        """Logits ``(B, S, V)`` of the next token at every position, and the final state."""
        inputs = F.one_hot(X, self.vocab_size).to(self.linear.weight.dtype)
        Y, state = self.rnn(inputs, state)  # Y: (B, S, D * H)
        return self.linear(Y), state

    def begin_state(self, batch_size: int, device: torch.device | str = "cpu") -> State:
        """Zeros of shape ``(L * D, B, H)``; a pair of them for an LSTM."""
        directions = 2 if self.rnn.bidirectional else 1
        shape = (self.rnn.num_layers * directions, batch_size, self.rnn.hidden_size)
        zeros = torch.zeros(shape, device=device)
        if isinstance(self.rnn, nn.LSTM):
            return zeros, zeros.clone()
        return zeros


def detach_state(state: State) -> State:
    """The state cut from the graph of the minibatches before it (values unchanged).

    Raises:
        TypeError: if ``state`` is neither a tensor nor a tuple of tensors.
    """
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple) and all(isinstance(s, Tensor) for s in state):
        return tuple(s.detach() for s in state)
    raise TypeError(f"state must be a tensor or a tuple of tensors, got {type(state).__name__}")


def _check_net(net: Any) -> None:
    if not isinstance(net, nn.Module) or not callable(getattr(net, "begin_state", None)):
        raise TypeError(
            "net must be an nn.Module with a begin_state(batch_size, device) method, "
            f"got {type(net).__name__}"
        )


def _device_of(net: nn.Module) -> torch.device:
    param = next(net.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def perplexity_on(
    net: nn.Module,
    tokens: Tensor | Sequence[int],
    start: int = 4,
    num_steps: int = 500,
    device: torch.device | None = None,
) -> float:
    """Perplexity of a language model on one text, read in order from its first token.

    The model starts from ``net.begin_state(1, device)`` at ``tokens[0]`` and carries its state
    through the whole text, ``num_steps`` tokens at a time (for a causal model the chunk size
    changes only the memory used, not the result; a bidirectional model reads ahead within each
    chunk, so its score is not a language model's, see the bidirectional-RNN notebook). It
    predicts ``tokens[t]`` from ``tokens[:t]``; the scored targets are ``tokens[start:]``, so
    ``tokens[:start]`` serve only as context. With the default ``start=4`` the targets are those
    the n-gram models of the language-model notebook are scored on (the 5-gram needs four
    characters of context).

    Args:
        net: a language model (see the module docstring); it is put in evaluation mode for the
            call and then back in the mode it was in.
        tokens: ``T`` token indices, a 1-D int tensor or a list of ints.
        start: the first scored position, ``1 <= start < T``.
        num_steps: tokens fed to ``net`` per call.
        device: where to compute; default the device of ``net``'s parameters.

    Returns:
        ``exp`` of the mean cross-entropy (nats) over the ``T - start`` scored targets.

    Raises:
        TypeError: if ``net`` has no ``begin_state``, or ``tokens`` is not integer.
        ValueError: if ``tokens`` is not 1-D, ``start`` is not in ``1 .. T - 1``, or
            ``num_steps`` is not a positive int.

    Source: perplexity as in d2l §9.5, scored on held-out text (this book's issue #13).
    """
    _check_net(net)
    tokens = torch.as_tensor(tokens)
    if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
        raise TypeError(f"tokens must hold integer token indices, got dtype {tokens.dtype}")
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be 1-D, got shape {tuple(tokens.shape)}")
    check_int("start", start, minimum=1, maximum=len(tokens) - 1)
    check_int("num_steps", num_steps)
    device = device or _device_of(net)
    tokens = tokens.to(device=device, dtype=torch.int64)
    was_training = net.training
    net.eval()
    total = 0.0
    try:
        with torch.no_grad():
            state = net.begin_state(1, device)
            for i in range(0, len(tokens) - 1, num_steps):
                # inputs tokens[i .. i + num_steps - 1]; the last token is only a target
                X = tokens[None, i : min(i + num_steps, len(tokens) - 1)]
                Y = tokens[i + 1 : i + 1 + X.shape[1]]
                logits, state = net(X, state)
                nll = F.cross_entropy(logits[0].double(), Y, reduction="none")
                first = max(start - (i + 1), 0)  # target t = i + 1 + j is scored if t >= start
                total += float(nll[first:].sum())
    finally:
        net.train(was_training)
    return math.exp(total / (len(tokens) - start))


def predict(
    prefix: str | Sequence[str],
    num_preds: int,
    net: nn.Module,
    vocab: Vocab,
    device: torch.device | None = None,
) -> str:
    """Continue a character prefix greedily: each next character is the most likely one.

    The state is warmed up on the whole prefix, then each predicted character is fed back in.

    Args:
        prefix: the start of the text, a string of characters (or a list of them), not empty.
        num_preds: how many characters to generate, ``>= 0``.
        net: a character language model (see the module docstring).
        vocab: the vocabulary ``net`` was trained with.
        device: where to compute; default the device of ``net``'s parameters.

    Returns:
        ``prefix`` followed by the ``num_preds`` generated characters, as one string.

    Raises:
        ValueError: if ``prefix`` is empty or ``num_preds`` is not an int ``>= 0``.
        TypeError: if ``net`` has no ``begin_state``.

    Source: ``predict_ch8`` of d2l §9.5 (greedy decoding).
    """
    _check_net(net)
    if len(prefix) == 0:
        raise ValueError("prefix must not be empty: the model needs a first character")
    check_int("num_preds", num_preds, minimum=0)
    device = device or _device_of(net)
    outputs = list(vocab[list(prefix)])
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            state = net.begin_state(1, device)
            X = torch.tensor([outputs], device=device)
            for _ in range(num_preds):
                logits, state = net(X, state)
                outputs.append(int(logits[0, -1].argmax()))
                X = torch.tensor([[outputs[-1]]], device=device)
    finally:
        net.train(was_training)
    return "".join(list(prefix) + vocab.to_tokens(outputs[len(prefix) :]))


@dataclass
class LanguageModelHistory:
    """Results of :func:`train_language_model`, one list entry per epoch."""

    train_ppl: list[float] = field(default_factory=list)
    """Perplexity of the epoch's training targets: ``exp`` of their mean cross-entropy."""
    held_out_ppl: list[float] = field(default_factory=list)
    """Held-out perplexity after each epoch (:func:`perplexity_on`); empty without held-out
    tokens."""
    tokens_trained: int = 0
    """Training targets (characters for a character model) processed, over all epochs."""
    train_seconds: float = 0.0
    """Time spent in the training passes only (no held-out scoring, no plotting)."""
    seconds: float = 0.0
    """Wall-clock time of the whole call."""

    @property
    def tokens_per_sec(self) -> float:
        """Training targets per second of training time (held-out scoring excluded)."""
        return self.tokens_trained / self.train_seconds


def train_language_model(
    net: nn.Module,
    train_iter: Batches,
    num_epochs: int,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    device: torch.device | None = None,
    held_out: Tensor | None = None,
    clip: float | None = 1.0,
    carry_state: bool | None = None,
    plot: bool = True,
) -> LanguageModelHistory:
    """Train a recurrent language model with gradient clipping, plotting perplexity per epoch.

    Each minibatch ``(X, Y)`` is scored by the mean cross-entropy of ``net``'s logits against
    ``Y``. With ``carry_state`` the final state of a minibatch, detached from the graph, starts
    the next one (for sequential partitioning, where row ``i`` continues row ``i``); otherwise
    every minibatch starts from ``net.begin_state`` (for random sampling). Before each update
    the gradient is clipped to norm ``clip`` with ``torch.nn.utils.clip_grad_norm_``.

    Args:
        net: a language model (see the module docstring); moved to ``device``.
        train_iter: yields ``(X, Y)``, int64 of shape ``(B, S)``; each ``for`` loop is an epoch.
        num_epochs: passes over ``train_iter``.
        lr: learning rate of ``torch.optim.SGD``, when ``optimizer`` is not given.
        optimizer: an optimizer over ``net``'s parameters.
        scheduler: a learning-rate schedule of ``optimizer``, stepped once after each epoch.
        device: where to train; default :func:`try_gpu`.
        held_out: a 1-D tensor of token indices scored after every epoch with
            :func:`perplexity_on` (targets ``held_out[4:]``).
        clip: the largest gradient norm; ``None`` turns clipping off.
        carry_state: carry the state across minibatches. Default: true for a
            :class:`~d2lhelpers.sequence_data.SeqDataLoader` with sequential partitioning,
            false with random sampling; it must be given for any other ``train_iter``.
        plot: draw the live :class:`Animator` of the perplexities.

    Returns:
        The :class:`LanguageModelHistory`. It prints the last perplexities and the throughput:
        training targets (characters) per second of training time.

    Raises:
        ValueError: unless exactly one of ``lr`` and ``optimizer`` is given, if ``scheduler``
            schedules another optimizer, if ``num_epochs``
            is not a positive int, ``clip`` is not positive, or ``train_iter`` is empty.
        TypeError: if ``net`` has no ``begin_state``, or ``carry_state`` is not given for an
            iterator that is not a ``SeqDataLoader``.

    Source: ``train_ch8`` / ``train_epoch_ch8`` of d2l §9.5, with held-out perplexity.
    """
    _check_net(net)
    if (lr is None) == (optimizer is None):
        raise ValueError("train_language_model: give exactly one of lr and optimizer")
    if scheduler is not None and scheduler.optimizer is not optimizer:
        raise ValueError("train_language_model(scheduler): scheduler must schedule optimizer")
    check_int("num_epochs", num_epochs)
    if clip is not None and check_number("clip", clip) <= 0:
        raise ValueError(f"clip must be positive (or None), got {clip!r}")
    if carry_state is None:
        if not hasattr(train_iter, "use_random_iter"):
            raise TypeError(
                "carry_state must be given unless train_iter is a SeqDataLoader: True for "
                "sequential partitioning, False for random sampling"
            )
        carry_state = not train_iter.use_random_iter
    device = device or try_gpu()
    net.to(device)
    optimizer = optimizer or torch.optim.SGD(net.parameters(), lr=lr)
    legend = ["train"] + (["held-out"] if held_out is not None else [])
    animator = (
        Animator(xlabel="epoch", ylabel="perplexity", xlim=(0, num_epochs), legend=legend)
        if plot
        else None
    )
    history, timer, train_timer = LanguageModelHistory(), Timer(), Timer()
    for epoch in range(num_epochs):
        train_timer.start()
        net.train()
        total_loss, num_tokens, state = 0.0, 0, None
        for X, Y in train_iter:
            X, Y = X.to(device), Y.to(device)
            if state is None or not carry_state:
                state = net.begin_state(X.shape[0], device)
            else:
                state = detach_state(state)  # keep the values, cut the gradient
            logits, state = net(X, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(net.parameters(), clip)
            optimizer.step()
            total_loss += float(loss.detach()) * Y.numel()
            num_tokens += Y.numel()
        train_timer.stop()
        if scheduler:
            scheduler.step()
        if num_tokens == 0:
            raise ValueError("train_language_model(train_iter): train_iter yielded no batches")
        history.train_ppl.append(math.exp(total_loss / num_tokens))
        history.tokens_trained += num_tokens
        if held_out is not None:
            history.held_out_ppl.append(perplexity_on(net, held_out, device=device))
        if animator:
            held = history.held_out_ppl[-1:] if held_out is not None else []
            animator.add(epoch + 1, [history.train_ppl[-1], *held])
    if animator:
        animator.finish()
    history.seconds = timer.stop()
    history.train_seconds = train_timer.sum()
    held_text = (
        f", held-out perplexity {history.held_out_ppl[-1]:.2f}" if held_out is not None else ""
    )
    print(
        f"training perplexity {history.train_ppl[-1]:.2f}{held_text}\n"
        f"{history.tokens_per_sec:,.0f} characters/s on {device} (training targets per second "
        f"of training; {history.seconds:.1f} s in all, held-out scoring included)"
    )
    return history
