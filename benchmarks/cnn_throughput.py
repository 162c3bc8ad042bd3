"""CNN training throughput on the CPU, against the CPU's own matrix-multiplication peak.

For the modern LeNet of ``04-convolutional-networks/06-lenet`` and the chapter's best model,
the scaled ResNet (trained as in ``benchmarks/modern_cnn_selection.py``: standardized inputs,
SGD with momentum 0.9 and weight decay 5e-4, batch size 128), one run measures:

1. **Matmul peak**: GFLOP/s of a 4096 x 4096 matrix product in float32 (and bfloat16 when
   the CPU has AVX-512 BF16 or AMX), the best of 9 (3 interleaved rounds of 3), with 1 thread
   and with all of this process's threads. A multiply-add is 2 FLOPs.
2. **Training throughput**: training examples per second of the training loop's steady
   state. A step is: take the next minibatch of 128 from the loader, forward pass, loss,
   backward pass, optimizer step, and the running loss and accuracy that
   ``d2l.train_classifier`` accumulates (its inner loop, line by line). After a few warm-up
   steps (which also start the loader's worker processes and compile, where that applies), a
   fixed number of steps is timed one by one; no evaluation, no plotting. A round's figure is
   128 / the median step time (robust to the odd step that another process slows); each
   setting runs in ``--rounds`` interleaved rounds and the best round counts. Settings: our
   in-memory loader (``d2l.load_data_fashion_mnist``) vs. d2l's way, a ``DataLoader``
   over torchvision's ``FashionMNIST(transform=ToTensor())`` with 0, 2 and 4 worker processes;
   and, with our loader, the channels-last memory format, bfloat16 autocast and
   ``torch.compile``.
3. **Achieved multiply-adds per second** = multiply-adds of one forward pass per example
   (``d2l.multiply_adds``) x 3 (the backward pass costs about twice the forward: gradients
   with respect to the inputs and to the weights) x examples per second, as a fraction of the
   float32 matmul peak with all threads (bfloat16 settings: also of the bfloat16 peak).
4. **Threads on an idle and on a busy CPU**: the baseline with 1 and with 2 threads, alone
   and while a second process keeps one core busy (a Python busy loop standing in for another
   notebook or test worker), under libgomp's default OpenMP wait policy and under
   ``OMP_WAIT_POLICY=PASSIVE`` (each in a child process; fewer steps, best of 2 rounds).
5. **Does bfloat16 keep the accuracy?** The ResNet trained for 2 epochs on 55,000 training
   images in float32 and in bfloat16 autocast, each evaluated on the 5,000 held-out validation
   images of ``modern_cnn_selection.split_loaders`` (never the test set).

Run: ``flock /tmp/cpu.lock python benchmarks/cnn_throughput.py`` (about 7 minutes on 2 cores;
the lock keeps other jobs of this project off the CPU). ``--parts peak,train`` skips the
threads and accuracy parts, ``--models resnet`` one model, ``--no-compile`` the compiled settings.
"""

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ.pop("D2L_REDUCED", None)  # the full-size data, whatever the shell says
# A fresh compilation cache, so that the compiled settings' first warm-up shows what a reader
# pays the first time (a warm cache from an earlier run would hide it).
if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")
    atexit.register(shutil.rmtree, os.environ["TORCHINDUCTOR_CACHE_DIR"], ignore_errors=True)

import torch  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

import d2lhelpers as d2l  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from modern_cnn_selection import split_loaders  # noqa: E402

BATCH_SIZE = 128
MATMUL_SIZE = 4096
# (warm-up steps, timed steps) per model: about 1 s or more of timed training per setting.
STEPS = {"lenet": (10, 100), "resnet": (5, 20)}
BUSY_STEPS = {"lenet": (5, 40), "resnet": (2, 8)}  # fewer: 2 threads can be very slow here
RESNET = dict(arch=((1, 32), (1, 64), (1, 128)), num_classes=10, in_channels=1, stem_kernel=3,
              stem_stride=1)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def has_bf16() -> bool:
    """AVX-512 BF16 or AMX-BF16 in the CPU, and oneDNN able to use it."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"}) and bool(
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


# ---------------------------------------------------------------------------------------------
# 1. Matmul peak


def matmul_peak(dtypes: list[torch.dtype], threads: int, rounds: int = 3, repeats: int = 3
                ) -> dict[tuple[torch.dtype, int], float]:
    """Best GFLOP/s of ``A @ B`` for two square ``MATMUL_SIZE`` matrices, per dtype and
    thread count (1 and ``threads``), over ``rounds`` interleaved rounds of ``repeats``."""
    A = torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    B = torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    best: dict[tuple[torch.dtype, int], float] = {}
    for _ in range(rounds):
        for dtype in dtypes:
            A_, B_ = A.to(dtype), B.to(dtype)
            for t in sorted({1, threads}):
                torch.set_num_threads(t)
                A_ @ B_  # warm-up
                for _ in range(repeats):
                    start = time.perf_counter()
                    A_ @ B_
                    gflops = 2 * MATMUL_SIZE**3 / (time.perf_counter() - start) / 1e9
                    best[dtype, t] = max(gflops, best.get((dtype, t), 0.0))
    torch.set_num_threads(threads)
    return best


# ---------------------------------------------------------------------------------------------
# 2. Training throughput


def lenet_modern() -> nn.Sequential:
    """The modern LeNet of notebook 04/06 (batch norm, ReLU, max pooling)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.BatchNorm2d(6), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.BatchNorm1d(120), nn.ReLU(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(),
        nn.Linear(84, 10))


def init_xavier(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def standardizer(images: torch.Tensor) -> torchvision.transforms.Normalize:
    """Normalize with the mean and standard deviation of uint8 ``images`` scaled to [0, 1]."""
    X = images.float().div_(255)
    return torchvision.transforms.Normalize([X.mean().item()], [X.std().item()])


def build(model: str, standardize: nn.Module, channels_last: bool
          ) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A fresh network (seed 0) and its notebook's optimizer."""
    d2l.seed_everything(0)
    if model == "lenet":
        net = lenet_modern()
        net.apply(init_xavier)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.3)
    else:
        net = nn.Sequential(standardize, d2l.resnet(**RESNET))
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    if channels_last:
        net.to(memory_format=torch.channels_last)
    return net, optimizer


def train_steps(net: nn.Module, optimizer: torch.optim.Optimizer, batches, steps: int,
                bf16: bool) -> list[float]:
    """``steps`` iterations of ``d2l.train_classifier``'s inner loop (optionally autocast);
    returns the wall-clock seconds of each, from taking the minibatch to the last update."""
    device, loss, metric = d2l.cpu(), nn.CrossEntropyLoss(), d2l.Accumulator(3)
    net.train()
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        X, y = next(batches)
        X, y = X.to(device), y.to(device)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y_hat = net(X)
            batch_loss = loss(y_hat, y)
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        with torch.no_grad():
            metric.add(float(batch_loss) * len(y), d2l.accuracy(y_hat, y), len(y))
        seconds.append(time.perf_counter() - start)
    if not torch.isfinite(torch.tensor(metric[0])):
        raise FloatingPointError("training diverged")
    return seconds


def examples_per_s(step_seconds: list[float]) -> float:
    """Examples per second of a typical step: the median step time. Unlike the total time, it
    does not count the few steps that another process on the shared CPU happened to slow."""
    return BATCH_SIZE / statistics.median(step_seconds)


@dataclass
class Setting:
    label: str
    loader: str = "ours"  # "ours" or "torchvision"
    workers: int = 0  # DataLoader worker processes (torchvision only)
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False
    threads: int = 2

    def describe(self) -> tuple[str, str, str, str, str]:
        loader = ("`load_data_fashion_mnist`" if self.loader == "ours"
                  else f"torchvision `DataLoader`, {self.workers} workers")
        return (loader, "channels-last" if self.channels_last else "NCHW",
                "bf16 autocast" if self.bf16 else "fp32", "yes" if self.compile else "no",
                str(self.threads))


def settings(threads: int, bf16: bool, compile_: bool) -> list[Setting]:
    s = [Setting("baseline (train_classifier's loop)", threads=threads)]
    s += [Setting(f"d2l's way, {w} workers", loader="torchvision", workers=w, threads=threads)
          for w in (0, 2, 4)]
    s.append(Setting("channels-last", channels_last=True, threads=threads))
    if bf16:
        s.append(Setting("bf16", bf16=True, threads=threads))
        s.append(Setting("channels-last + bf16", channels_last=True, bf16=True, threads=threads))
    if compile_:
        s.append(Setting("compile", compile=True, threads=threads))
        if bf16:
            s.append(Setting("compile + channels-last + bf16", compile=True,
                             channels_last=True, bf16=True, threads=threads))
    return s


def torchvision_train_set(root: Path) -> torchvision.datasets.FashionMNIST:
    """torchvision's FashionMNIST over our verified files, laid out where it looks for them."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, path in d2l.resolve_dataset("fashion-mnist").items():
        (raw / name).symlink_to(path)
    return torchvision.datasets.FashionMNIST(
        str(root), train=True, transform=torchvision.transforms.ToTensor())


def compiled(net: nn.Sequential) -> nn.Module:
    """``torch.compile(net)``, leaving out a leading ``Normalize``: torchvision's check
    ``if (std == 0).any()`` breaks the graph, and the residual blocks after the break would
    then be compiled one by one, recompiled for every shape."""
    if isinstance(net[0], torchvision.transforms.Normalize):
        return nn.Sequential(net[0], torch.compile(net[1:]))
    return torch.compile(net)


@dataclass
class Result:
    examples_per_s: float = 0.0
    first_warmup_s: float = 0.0  # the first round's warm-up (compilation, worker start-up)
    rounds: list[float] | None = None


def measure_training(models: list[str], rounds: int, threads: int, bf16: bool,
                     compile_: bool, root: Path) -> dict[str, list[tuple[Setting, Result]]]:
    ours, _ = d2l.load_data_fashion_mnist(BATCH_SIZE)
    theirs = torchvision_train_set(root)
    standardize = standardizer(ours.tensors[0])
    out = {}
    for model in models:
        warmup, steps = STEPS[model]
        runs = []
        for s in settings(threads, bf16, compile_):
            net, optimizer = build(model, standardize, s.channels_last)
            runs.append((s, compiled(net) if s.compile else net, optimizer, Result(rounds=[])))
        for r in range(rounds):  # interleaved, so every setting sees the same machine load
            for s, net, optimizer, result in runs:
                torch.set_num_threads(s.threads)
                loader = ours if s.loader == "ours" else DataLoader(
                    theirs, BATCH_SIZE, shuffle=True, num_workers=s.workers)
                batches = iter(loader)
                start = time.perf_counter()
                train_steps(net, optimizer, batches, warmup, s.bf16)
                if r == 0:
                    result.first_warmup_s = time.perf_counter() - start
                result.rounds.append(examples_per_s(
                    train_steps(net, optimizer, batches, steps, s.bf16)))
                del batches  # stops the DataLoader's workers
                print(f"  {model:<6} round {r + 1}: {s.label:<34} "
                      f"{result.rounds[-1]:8,.0f} examples/s", flush=True)
        for _, _, _, result in runs:
            result.examples_per_s = max(result.rounds)
        out[model] = [(s, result) for s, _, _, result in runs]
    torch.set_num_threads(threads)
    return out


def threads_child(models: list[str], threads: int) -> None:
    """In a child process (whose OpenMP wait policy the parent chose): baseline examples/s
    with 1 and ``threads`` threads, on an idle CPU and while a second process keeps one core
    busy; printed as one JSON line."""
    ours, _ = d2l.load_data_fashion_mnist(BATCH_SIZE)
    standardize = standardizer(ours.tensors[0])
    out: dict[str, dict[str, float]] = {model: {} for model in models}
    for _ in range(2):  # two rounds, the better one counts
        for model in models:
            warmup, steps = BUSY_STEPS[model]
            for busy in (False, True):
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
                try:
                    for t in sorted({1, threads}):
                        torch.set_num_threads(t)
                        net, optimizer = build(model, standardize, channels_last=False)
                        batches = iter(ours)
                        train_steps(net, optimizer, batches, warmup, bf16=False)
                        rate = examples_per_s(
                            train_steps(net, optimizer, batches, steps, bf16=False))
                        key = f"{t},{busy}"
                        out[model][key] = max(rate, out[model].get(key, 0.0))
                finally:
                    if hog:
                        hog.kill()
                        hog.wait()
    print(json.dumps(out))


def measure_threads(models: list[str], threads: int) -> dict[str, dict[str, dict[str, float]]]:
    """``threads_child`` with libgomp's default wait policy and with ``OMP_WAIT_POLICY=PASSIVE``
    (idle threads sleep at once instead of spinning first); the policy must be set before
    the OpenMP runtime starts, hence the child processes."""
    out = {}
    for policy in ("default", "PASSIVE"):
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        if policy != "default":
            env["OMP_WAIT_POLICY"] = policy
        child = subprocess.run(
            [sys.executable, __file__, "--threads-child", "--models", ",".join(models)],
            env=env, check=True, capture_output=True, text=True)
        out[policy] = json.loads(child.stdout.strip().splitlines()[-1])
        for model, r in out[policy].items():
            print(f"  {model:<6} wait policy {policy:<7} " + ", ".join(
                f"{t} thr{' busy' if busy == 'True' else ''}: {v:,.0f}"
                for (t, busy), v in ((k.split(","), v) for k, v in r.items())), flush=True)
    return out


# ---------------------------------------------------------------------------------------------
# 5. bfloat16 accuracy


class Autocast(nn.Module):
    """Runs ``net`` under bfloat16 autocast and returns float32 logits, so that
    ``d2l.train_classifier`` trains and evaluates it in bfloat16 unchanged."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.net(X).float()


def bf16_accuracy(epochs: int, channels_last: bool) -> list[tuple[str, d2l.TrainingHistory]]:
    train_iter, valid_iter = split_loaders(BATCH_SIZE, flip=False)
    standardize = standardizer(train_iter.tensors[0])
    histories = []
    for precision in ("fp32", "bf16 autocast"):
        net, _ = build("resnet", standardize, channels_last)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        model = Autocast(net) if precision != "fp32" else net
        print(f"  resnet, {precision}, {epochs} epochs on 55,000 images:", flush=True)
        histories.append((precision, d2l.train_classifier(
            model, train_iter, valid_iter, epochs, optimizer=optimizer, scheduler=scheduler,
            device=d2l.cpu(), plot=False)))
    return histories


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="peak,train,threads,accuracy",
                        help="comma-separated subset of peak,train,threads,accuracy")
    parser.add_argument("--models", default="lenet,resnet", help="lenet,resnet or one of them")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--accuracy-epochs", type=int, default=2)
    parser.add_argument("--threads-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads_child:
        threads_child(args.models.split(","), torch.get_num_threads())
        return
    # d2l's way on 2 cores: 4 workers make torch warn once per DataLoader iterator.
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    parts, models = args.parts.split(","), args.models.split(",")
    threads, bf16 = torch.get_num_threads(), has_bf16()
    started = time.perf_counter()
    flags = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "amx_bf16"})
    print(f"{cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}, {threads} "
          f"threads; CPU flags: {' '.join(flags)}; bfloat16 used: {'yes' if bf16 else 'no'}")

    peak: dict[tuple[torch.dtype, int], float] = {}
    if "peak" in parts or "train" in parts:
        peak = matmul_peak([torch.float32, torch.bfloat16] if bf16 else [torch.float32], threads)
        print(f"\n### Matmul peak ({MATMUL_SIZE} x {MATMUL_SIZE}, best of 9 in 3 rounds)\n")
        print("| dtype | threads | GFLOP/s | G multiply-adds/s |\n|---|---|---|---|")
        for (dtype, t), gflops in peak.items():
            print(f"| {str(dtype).removeprefix('torch.')} | {t} | {gflops:,.0f} "
                  f"| {gflops / 2:,.0f} |")

    if "train" in parts:
        compile_ = not args.no_compile
        print(f"\nTraining throughput ({args.rounds} interleaved rounds per setting):")
        with tempfile.TemporaryDirectory() as root:
            results = measure_training(models, args.rounds, threads, bf16, compile_, Path(root))
        fp32_madds = peak[torch.float32, threads] / 2
        bf16_madds = peak.get((torch.bfloat16, threads), float("nan")) / 2
        print(f"\n### Training throughput (batch {BATCH_SIZE}; best of {args.rounds} rounds)\n")
        print("| model | loader | layout | precision | compile | threads | examples/s | "
              "vs. baseline | G multiply-adds/s | % of fp32 peak | % of bf16 peak | "
              "first warm-up |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        notes = []
        for model, runs in results.items():
            warmup, steps = STEPS[model]
            net, _ = build(model, nn.Identity(), False)
            madds = 3 * d2l.multiply_adds(net, (1, 1, 28, 28))
            base = runs[0][1].examples_per_s
            for s, r in runs:
                achieved = madds * r.examples_per_s / 1e9
                print(f"| {model} | {' | '.join(s.describe())} | {r.examples_per_s:,.0f} | "
                      f"{r.examples_per_s / base:.2f}x | {achieved:.1f} | "
                      f"{achieved / fp32_madds:.0%} | "
                      f"{f'{achieved / bf16_madds:.0%}' if s.bf16 else '-'} | "
                      f"{r.first_warmup_s:.1f} s |")
            notes.append(f"{model}: {madds / 3 / 1e6:.2f} M multiply-adds per example in the "
                         f"forward pass, x3 for training; {warmup} warm-up steps, then "
                         f"{steps} timed steps ({steps * BATCH_SIZE:,} examples)")
        print("\n" + "\n".join(notes))

    if "threads" in parts and threads > 1:
        print("\nThreads and OpenMP wait policy (baseline, child processes):")
        res = measure_threads(models, threads)
        print("\n### Threads (baseline: NCHW, fp32), examples/s\n")
        print(f"| model | OpenMP wait policy | 1 thread, idle CPU | {threads} threads, idle CPU | "
              f"1 thread, one core busy | {threads} threads, one core busy |\n"
              "|---|---|---|---|---|---|")
        for policy, r_policy in res.items():
            for model, r in r_policy.items():
                cells = " | ".join(f"{r[f'{t},{busy}']:,.0f}" for busy in (False, True)
                                   for t in sorted({1, threads}))
                print(f"| {model} | {policy} | {cells} |")

    if "accuracy" in parts and bf16:
        print(f"\nbfloat16 accuracy check ({torch.get_num_threads()} threads, channels-last):")
        histories = bf16_accuracy(args.accuracy_epochs, channels_last=True)
        print(f"\n### ResNet, {args.accuracy_epochs} epochs, validation accuracy\n")
        print("| precision | validation accuracy per epoch | training accuracy | "
              "examples/s (whole call) |\n|---|---|---|---|")
        for precision, h in histories:
            print(f"| {precision} | {', '.join(f'{a:.4f}' for a in h.test_acc)} | "
                  f"{h.train_acc[-1]:.4f} | {h.examples_per_sec:,.0f} |")
    elif "accuracy" in parts:
        print("\nNo bfloat16 support in this CPU: accuracy check skipped.")
    print(f"\nTotal: {(time.perf_counter() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    main()
