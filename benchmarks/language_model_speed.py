"""Character-RNN training speed: ``d2lhelpers.train_language_model`` vs. d2l's ``train_ch8``.

The same network on both sides: an ``nn.RNN`` or ``nn.GRU`` layer (28 one-hot inputs, 256 hidden
units) and a linear output layer, started from the same weights, trained on the same characters
(the first 90% of The Time Machine, as ``d2lhelpers.load_data_time_machine`` splits it) with the
d2l settings of chapter 8 (§8.6 of d2l 0.17): batch 32, 35 steps, sequential partitioning with
the state carried across minibatches, SGD with learning rate 1, gradient clipping at norm 1.

- **d2l's way**: d2l 0.17.6's own, unmodified ``train_ch8`` (``train_epoch_ch8``,
  ``grad_clipping``, ``Accumulator``, ``Timer``, ``Animator``) on its own ``RNNModel``
  (time-major ``nn.RNN`` / ``nn.GRU``), fed by its own ``SeqDataLoader`` /
  ``seq_data_iter_sequential`` over our training characters as a list of ints (what its
  ``load_corpus_time_machine`` returns), instead of its default first 10,000 characters.
- **ours**: ``d2lhelpers.train_language_model(net, train_iter, epochs, lr=1, device=cpu,
  held_out=held)`` on ``d2lhelpers.RNNModel`` (the same layer with ``batch_first=True``): its
  defaults (clipping at norm 1 with ``clip_grad_norm_``, the live plot on) and the held-out
  perplexity after every epoch, as the chapter's notebooks call it.

Characters per second = training target characters (``Y.numel()`` summed over every minibatch of
every epoch, counted on both sides as the loaders yield them) / wall-clock seconds of the whole
training call. Start-up (imports, reading the book, building the models, and one warm-up
minibatch per side, which pays one-time costs such as allocating the layer's work space) is
excluded. Everything each trainer does per epoch is included: for d2l, its data iterator and its
per-epoch ``Timer``/``Accumulator`` (it plots and predicts only every 10th epoch, so never in a
run shorter than 10 epochs, and predicts twice 50 characters at the end); for ours, its data
iterator, the held-out perplexity of the 17,343 held-out characters after each epoch and the
Animator's bookkeeping. Ours is also given without the held-out scoring
(``history.train_seconds``, its training passes only). The script runs in a plain Python process
with matplotlib's Agg backend, so neither side renders figures (in JupyterLab d2l's Animator
would redraw every 10th epoch, ours at most once a second). Runs alternate (d2l, ours, ours, d2l,
...) in one process.

d2l is not a dependency of the book. d2l 1.0 dropped ``train_ch8``; d2l 0.17.6 has it, but pins
old numpy and torch versions, so do not install it: download its pure-Python wheel and let this
script import it from there (``--d2l-wheel``; Python imports modules straight from a wheel file):
    .venv/bin/pip download --no-deps d2l==0.17.6 -d /tmp/d2lpkg
Run (about 40 s on 2 cores; 2 minutes with ``--repeats 3``):
    flock /tmp/cpu.lock .venv/bin/python benchmarks/language_model_speed.py \\
        --d2l-wheel /tmp/d2lpkg/d2l-0.17.6-py3-none-any.whl
Options: ``--epochs`` (default 5), ``--repeats`` (default 1), ``--models`` (default rnn gru).
"""

import argparse
import contextlib
import copy
import io
import os
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # nothing is shown; set before d2l imports pyplot

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import d2lhelpers  # noqa: E402

BATCH_SIZE, NUM_STEPS, NUM_HIDDENS, LR, EPOCHS = 32, 35, 256, 1.0, 5
LAYERS = {"rnn": nn.RNN, "gru": nn.GRU}


def import_d2l(wheel: Path):
    """d2l 0.17.6's ``d2l.torch``, imported from its wheel (not installed)."""
    if not wheel.is_file():
        sys.exit(
            f"{wheel} not found. This benchmark compares against d2l 0.17.6, which the book does"
            " not depend on; download its wheel (no install) with\n"
            "  .venv/bin/pip download --no-deps d2l==0.17.6 -d /tmp/d2lpkg"
        )
    sys.path.insert(0, str(wheel))
    from d2l import torch as d2l

    version = re.search(r"d2l-([^-]+)-", wheel.name)
    if not hasattr(d2l, "train_ch8"):
        sys.exit(f"{wheel.name} has no train_ch8 (d2l 1.0 dropped it): use d2l 0.17.6")
    return d2l, version.group(1) if version else "?"


class TargetCounter:
    """Wraps a minibatch iterator function and counts the target characters it yields."""

    def __init__(self, iter_fn):
        self.iter_fn, self.targets = iter_fn, 0

    def __call__(self, *args):
        for X, Y in self.iter_fn(*args):
            self.targets += Y.numel()
            yield X, Y


def warm_up(net: nn.Module, X: torch.Tensor, Y: torch.Tensor, time_major: bool) -> None:
    """One forward and backward pass on a throwaway copy (one-time costs, not timed)."""
    net = copy.deepcopy(net)
    state = net.begin_state(batch_size=X.shape[0], device="cpu")
    logits, _ = net(X, state)
    target = Y.T.reshape(-1) if time_major else Y.reshape(-1)
    F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target).backward()


def run_d2l(d2l, kind: str, weights: dict, corpus: list, vocab, epochs: int) -> dict:
    net = d2l.RNNModel(LAYERS[kind](len(vocab), NUM_HIDDENS), len(vocab))
    net.load_state_dict(weights)  # same names (rnn.*, linear.*) and shapes as ours
    loader = d2l.SeqDataLoader.__new__(d2l.SeqDataLoader)  # its __init__ would download
    counter = TargetCounter(d2l.seq_data_iter_sequential)
    loader.data_iter_fn, loader.corpus, loader.vocab = counter, corpus, vocab
    loader.batch_size, loader.num_steps = BATCH_SIZE, NUM_STEPS
    X, Y = next(iter(d2l.seq_data_iter_sequential(corpus, BATCH_SIZE, NUM_STEPS)))
    warm_up(net, X, Y, time_major=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        start = time.perf_counter()
        d2l.train_ch8(net, loader, vocab, LR, epochs, torch.device("cpu"))
        seconds = time.perf_counter() - start
    match = re.search(r"perplexity ([\d.]+), ([\d.]+) tokens/sec", out.getvalue())
    return {
        "seconds": seconds,
        "targets": counter.targets,
        "ppl": float(match.group(1)),
        "last_epoch_speed": float(match.group(2)),  # d2l's own figure: last epoch's loop only
    }


def run_ours(kind: str, weights: dict, train_iter, held, vocab, epochs: int) -> dict:
    net = d2lhelpers.RNNModel(LAYERS[kind](len(vocab), NUM_HIDDENS, batch_first=True), len(vocab))
    net.load_state_dict(weights)
    X, Y = next(iter(train_iter))
    warm_up(net, X, Y, time_major=False)
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        history = d2lhelpers.train_language_model(
            net, train_iter, epochs, lr=LR, device=d2lhelpers.cpu(), held_out=held
        )
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "targets": history.tokens_trained,
        "ppl": history.train_ppl[-1],
        "train_seconds": history.train_seconds,
        "held_ppl": history.held_out_ppl[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    wheel = Path("/tmp/d2lpkg/d2l-0.17.6-py3-none-any.whl")
    parser.add_argument("--d2l-wheel", type=Path, default=wheel, help=f"default: {wheel}")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--models", nargs="+", choices=sorted(LAYERS), default=["rnn", "gru"])
    args = parser.parse_args()
    d2l, d2l_version = import_d2l(args.d2l_wheel)
    # d2l's Accumulator calls float() on the loss without detaching it; torch warns once.
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True")
    os.environ.pop("D2L_REDUCED", None)
    d2lhelpers.seed_everything(0)
    train_iter, held, vocab = d2lhelpers.load_data_time_machine(BATCH_SIZE, NUM_STEPS)
    corpus = train_iter.corpus.tolist()  # d2l's corpus is a list of ints
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPU "
        f"cores; d2l {d2l_version}; {len(corpus):,} training characters, vocabulary "
        f"{len(vocab)}; batch {BATCH_SIZE}, {NUM_STEPS} steps, {NUM_HIDDENS} hidden, SGD lr {LR}, "
        f"{args.epochs} epochs"
    )
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(
        "chars/s = training target characters / seconds of the whole training call "
        "(ours: held-out perplexity after each epoch included; 'training only' excludes it)"
    )
    for kind in args.models:
        d2lhelpers.seed_everything(0)
        init = d2lhelpers.RNNModel(
            LAYERS[kind](len(vocab), NUM_HIDDENS, batch_first=True), len(vocab)
        )
        weights = copy.deepcopy(init.state_dict())
        results: dict[str, list[dict]] = {"d2l": [], "ours": []}
        for r in range(args.repeats):
            order = ("d2l", "ours") if r % 2 == 0 else ("ours", "d2l")
            for which in order:
                d2lhelpers.seed_everything(r)
                if which == "d2l":
                    res = run_d2l(d2l, kind, weights, corpus, vocab, args.epochs)
                else:
                    res = run_ours(kind, weights, train_iter, held, vocab, args.epochs)
                results[which].append(res)
                line = (
                    f"  {kind} {which:<4} {res['seconds']:6.2f} s, {res['targets']:,} targets, "
                    f"{res['targets'] / res['seconds']:8,.0f} chars/s, "
                    f"training ppl {res['ppl']:.2f}"
                )
                if which == "ours":
                    line += (
                        f", training only {res['targets'] / res['train_seconds']:,.0f} chars/s"
                        f", held-out ppl {res['held_ppl']:.2f}"
                    )
                else:
                    own = res["last_epoch_speed"]
                    line += f" (d2l's own figure, last epoch's loop only: {own:,.0f})"
                print(line, flush=True)
        speed = {
            w: statistics.median(r["targets"] / r["seconds"] for r in rs)
            for w, rs in results.items()
        }
        train_only = statistics.median(r["targets"] / r["train_seconds"] for r in results["ours"])
        print(
            f"{kind}: ours {speed['ours']:,.0f} chars/s (training only {train_only:,.0f}), "
            f"d2l {speed['d2l']:,.0f} chars/s; ours / d2l = {speed['ours'] / speed['d2l']:.2f} "
            f"(training only {train_only / speed['d2l']:.2f})"
        )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
