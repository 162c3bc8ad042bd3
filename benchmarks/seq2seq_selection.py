"""Choosing a translation model's size, learning rate and training length on a validation slice
of the training pairs, never on the held-out pairs.

Holds out the notebooks' 2,000 English sentences (``d2l.split_pairs``, seed 0) and leaves them
unused; from the remaining training pairs it holds out 1,000 more English sentences (seed 1) as
a validation slice, builds the vocabularies from the rest, trains one encoder–decoder with
``d2l.train_seq2seq`` on the CPU — a GRU (``d2l.Seq2SeqEncoder`` / ``d2l.Seq2SeqDecoder``) or a
Transformer (``d2l.TransformerEncoder`` / ``d2l.TransformerDecoder``, ``--model transformer``) — and
prints, as one JSON line, the final training loss, the training time and the validation corpus
BLEU of greedy translations (``d2l.evaluate_bleu``). ``benchmarks/README.md`` lists the runs.

Run: ``python benchmarks/seq2seq_selection.py --embed 128 --hidden 256 --layers 1 --epochs 8``
or ``python benchmarks/seq2seq_selection.py --model transformer --hidden 128 --ffn 256 --heads 4
--layers 2 --dropout 0.2 --lr 0.001 --epochs 10`` (``--embed`` is unused: the width is ``--hidden``)
"""

import argparse
import json
import os
import time

os.environ.pop("D2L_REDUCED", None)  # the full-size run, whatever the shell says

import d2lhelpers as d2l  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["gru", "transformer"], default="gru")
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--ffn", type=int, default=256, help="Transformer FFN width")
    parser.add_argument("--heads", type=int, default=4, help="Transformer heads")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--num-steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train_pairs, _ = d2l.split_pairs(d2l.read_cmn_eng())  # the held-out pairs stay unused
    d2l.seed_everything(args.seed)
    fit_iter, valid_pairs, src_vocab, tgt_vocab = d2l.load_data_cmn_eng(
        args.batch, args.num_steps, pairs=train_pairs, held_out=1000, seed=1
    )
    if args.model == "gru":
        sizes = (args.embed, args.hidden, args.layers, args.dropout)
        encoder = d2l.Seq2SeqEncoder(len(src_vocab), *sizes)
        decoder = d2l.Seq2SeqDecoder(len(tgt_vocab), *sizes)
    else:
        sizes = (args.hidden, args.ffn, args.heads, args.layers, args.dropout)
        encoder = d2l.TransformerEncoder(len(src_vocab), *sizes)
        decoder = d2l.TransformerDecoder(len(tgt_vocab), *sizes)
    net = d2l.EncoderDecoder(encoder, decoder)
    start = time.perf_counter()
    history = d2l.train_seq2seq(
        net, fit_iter, args.epochs, args.lr, tgt_vocab, device=d2l.cpu(), plot=False
    )
    train_minutes = (time.perf_counter() - start) / 60
    bleu = d2l.evaluate_bleu(net, valid_pairs, src_vocab, tgt_vocab, args.num_steps)
    print(
        json.dumps(
            {
                **vars(args),
                "valid_pairs": len(valid_pairs),
                "valid_bleu": round(bleu, 2),
                "train_loss": [round(loss, 3) for loss in history.loss],
                "train_minutes": round(train_minutes, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
