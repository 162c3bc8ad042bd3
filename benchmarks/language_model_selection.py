"""Choosing a recurrent language model's training length on a validation slice, never on the
held-out text.

Splits The Time Machine's characters as the chapter 5 notebooks do (the first 90% for training,
the last 10% held out), then carves the last 10% of the training part off as a validation slice.
Trains one ``d2l.RNNModel`` (``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``) on the rest with the
notebooks' recipe (batch 32, 35 steps, sequential minibatches, Adam, cosine schedule, gradient
clipping at norm 1) and prints, as one JSON line, the validation perplexity after every epoch
next to the 5-gram baseline's on the same slice. ``benchmarks/README.md`` lists the runs.

Run: ``python benchmarks/language_model_selection.py --model gru --epochs 10``
"""

import argparse
import json
import math
import os
import time

os.environ.pop("D2L_REDUCED", None)  # the full-size run, whatever the shell says

import torch  # noqa: E402
from torch import nn  # noqa: E402

import d2lhelpers as d2l  # noqa: E402

LAYERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(LAYERS), required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train_iter, _, vocab = d2l.load_data_time_machine(32, 35)  # the held-out part stays unused
    fit, valid = d2l.split_corpus(train_iter.corpus, held_out=0.1)
    ngram = d2l.NGramModel(fit, n=5, vocab_size=len(vocab), alpha=0.03)
    d2l.seed_everything(args.seed)
    net = d2l.RNNModel(LAYERS[args.model](len(vocab), args.hidden, batch_first=True), len(vocab))
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    start = time.perf_counter()
    history = d2l.train_language_model(
        net, d2l.SeqDataLoader(fit, 32, 35), args.epochs, optimizer=optimizer,
        scheduler=scheduler, device=d2l.cpu(), held_out=valid, plot=False)
    print(json.dumps({
        "model": args.model, "hidden": args.hidden, "epochs": args.epochs, "lr": args.lr,
        "seed": args.seed, "ngram_valid_ppl": round(math.exp(ngram.cross_entropy(valid)), 3),
        "valid_ppl": [round(p, 3) for p in history.held_out_ppl],
        "train_ppl": [round(p, 3) for p in history.train_ppl],
        "minutes": round((time.perf_counter() - start) / 60, 2),
    }))


if __name__ == "__main__":
    main()
