"""Choosing a small SSD for the Fashion-MNIST detection scenes on a validation slice of the
training scenes, never on the held-out scenes.

Makes the 8,000 training scenes of ``d2l.load_data_fashion_mnist_detection`` (seed 0), keeps the
last 1,000 as a validation slice and trains on the other 7,000 (the held-out scenes, from
Fashion-MNIST's test split, stay unused). The network is the one of
``notebooks/08-object-detection/05-ssd.ipynb``: a base network of conv–BN–ReLU–max-pool blocks
(96 → 48 → 24 → 12), then blocks down to 6 × 6 and 3 × 3 and a global max pool to 1 × 1, with a
class and a box prediction layer (3 × 3 convolutions) on each of the four maps. Loss: class
cross-entropy over all anchors plus L1 on the offsets of positive anchors (``--loss ce``, as
d2l), or cross-entropy with hard-negative mining at 3 negatives per positive (``--loss hnm``,
SSD paper). Prints one JSON line: settings, training time, final losses and the validation
mAP@0.5 (``torchmetrics.detection.MeanAveragePrecision``, IoU threshold 0.5, on boxes in pixels)
of ``d2l.multibox_detection``'s output. ``benchmarks/README.md`` lists the runs.

Run: ``python benchmarks/ssd_selection.py --width 16 --epochs 6 --loss hnm``
"""

import argparse
import json
import os
import time

os.environ.pop("D2L_REDUCED", None)  # the full-size run, whatever the shell says

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torchmetrics.detection import MeanAveragePrecision  # noqa: E402

import d2lhelpers as d2l  # noqa: E402

SIZES = [[0.2, 0.28], [0.37, 0.5], [0.55, 0.7], [0.85, 0.95]]
RATIOS = [1, 2, 0.5]


def down_block(in_channels, out_channels, convs):
    layers = []
    for i in range(convs):
        layers += [
            nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        ]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class TinySSD(nn.Module):
    def __init__(self, num_classes, width, convs):
        super().__init__()
        self.num_classes = num_classes
        self.num_anchors = len(SIZES[0]) + len(RATIOS) - 1
        c = width
        self.blocks = nn.ModuleList(
            [
                nn.Sequential(
                    down_block(1, c, convs),
                    down_block(c, 2 * c, convs),
                    down_block(2 * c, 4 * c, convs),
                ),  # 96 -> 12
                down_block(4 * c, 4 * c, convs),  # 12 -> 6
                down_block(4 * c, 4 * c, convs),  # 6 -> 3
                nn.AdaptiveMaxPool2d(1),  # 3 -> 1
            ]
        )
        a, q1 = self.num_anchors, num_classes + 1
        self.cls_layers = nn.ModuleList(nn.Conv2d(4 * c, a * q1, 3, padding=1) for _ in SIZES)
        self.box_layers = nn.ModuleList(nn.Conv2d(4 * c, a * 4, 3, padding=1) for _ in SIZES)

    def forward(self, X):
        anchors, cls_preds, box_preds = [], [], []
        for block, cls_layer, box_layer, sizes in zip(
            self.blocks, self.cls_layers, self.box_layers, SIZES
        ):
            X = block(X)
            anchors.append(d2l.multibox_prior(X, sizes, RATIOS))
            cls_preds.append(cls_layer(X).permute(0, 2, 3, 1).flatten(1))
            box_preds.append(box_layer(X).permute(0, 2, 3, 1).flatten(1))
        cls_preds = torch.cat(cls_preds, 1).reshape(len(X), -1, self.num_classes + 1)
        return torch.cat(anchors, 1), cls_preds, torch.cat(box_preds, 1)


def ssd_loss(cls_preds, cls_labels, box_preds, box_labels, box_mask, mode):
    ce = F.cross_entropy(cls_preds.flatten(0, 1), cls_labels.flatten(), reduction="none")
    ce = ce.reshape(cls_labels.shape)  # (B, A)
    l1 = (F.l1_loss(box_preds * box_mask, box_labels * box_mask, reduction="none")).sum(1)
    if mode == "ce":  # d2l: mean over all anchors
        return ce.mean(1) + l1 / box_labels.shape[1], ce.mean(1)
    positive = cls_labels > 0
    num_pos = positive.sum(1)
    neg_ce = ce.detach().masked_fill(positive, -1.0)
    rank = neg_ce.argsort(1, descending=True).argsort(1)
    hard = rank < 3 * num_pos.clamp(min=1)[:, None]
    chosen = positive | hard
    n = num_pos.clamp(min=1)
    return ((ce * chosen).sum(1) + l1) / n, (ce * chosen).sum(1) / n


def detect(net, X, nms_threshold=0.5):
    net.eval()
    with torch.no_grad():
        anchors, cls_preds, box_preds = net(X)
        probs = F.softmax(cls_preds, dim=2).permute(0, 2, 1)
        return d2l.multibox_detection(probs, box_preds, anchors, nms_threshold)


def evaluate_map(net, X_all, Y_all, canvas=96, batch=200):
    metric = MeanAveragePrecision(box_format="xyxy", iou_thresholds=[0.5])
    for start in range(0, len(X_all), batch):
        out = detect(net, X_all[start : start + batch])
        preds, target = [], []
        for rows, y in zip(out, Y_all[start : start + batch]):
            rows = rows[rows[:, 0] >= 0][:100]
            preds.append(
                {"boxes": rows[:, 2:] * canvas, "scores": rows[:, 1], "labels": rows[:, 0].long()}
            )
            y = y[y[:, 0] >= 0]
            target.append({"boxes": y[:, 1:] * canvas, "labels": y[:, 0].long()})
        metric.update(preds, target)
    return metric.compute()["map"].item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--convs", type=int, default=1)
    parser.add_argument("--loss", choices=["ce", "hnm"], default="ce")
    parser.add_argument("--optim", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--num-fit", type=int, default=7000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train_iter, _ = d2l.load_data_fashion_mnist_detection(args.batch)  # held-out unused
    X, Y = train_iter.tensors
    fit_iter = d2l.TensorLoader(
        X[: args.num_fit], Y[: args.num_fit], batch_size=args.batch, shuffle=True
    )
    X_val, Y_val = X[7000:], Y[7000:]
    d2l.seed_everything(args.seed)
    net = TinySSD(10, args.width, args.convs)
    if args.optim == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    steps = args.epochs * len(fit_iter)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=steps)
    losses = []
    start = time.perf_counter()
    for _ in range(args.epochs):
        net.train()
        total, count = 0.0, 0
        for Xb, Yb in fit_iter:
            anchors, cls_preds, box_preds = net(Xb)
            box_labels, box_mask, cls_labels = d2l.multibox_target(anchors, Yb)
            loss, _ = ssd_loss(cls_preds, cls_labels, box_preds, box_labels, box_mask, args.loss)
            opt.zero_grad()
            loss.mean().backward()
            opt.step()
            sched.step()
            total += loss.sum().item()
            count += len(Xb)
        losses.append(round(total / count, 4))
    train_minutes = (time.perf_counter() - start) / 60
    val_map = evaluate_map(net, X_val, Y_val)
    print(
        json.dumps(
            {
                **vars(args),
                "train_minutes": round(train_minutes, 2),
                "train_loss": losses,
                "valid_map50": round(val_map, 3),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
