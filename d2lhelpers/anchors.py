"""Anchor boxes for object detection: generation, labelling with ground truth, offsets and
prediction with non-maximum suppression.

Boxes are float tensors in **corner format** ``(x1, y1, x2, y2)``, x to the right and y down,
normalized to [0, 1] by the image width and height. ``A`` is the number of anchors, ``m`` the
number of (padded) objects per image and ``B`` the batch size.

Source: d2l §14.4 (anchor boxes); the offset constants 10 and 5 are those of SSD
(Liu et al., 2016) as used in d2l.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor
from torchvision.ops import batched_nms, box_convert, box_iou

from .validation import check_number

OFFSET_SCALE_XY = 10.0
"""Multiplier of the centre offsets, ``(Δx / w) · 10`` and ``(Δy / h) · 10``."""
OFFSET_SCALE_WH = 5.0
"""Multiplier of the size offsets, ``5 · log(w' / w)`` and ``5 · log(h' / h)``."""


def _check_tensor(name: str, value: object, ndim: int, last: int | None = None) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() != ndim or (last is not None and value.shape[-1] != last):
        want = f"{ndim}-D" + (f" with last dimension {last}" if last is not None else "")
        raise ValueError(f"{name} must be {want}, got shape {tuple(value.shape)}")
    return value


def _check_positive_numbers(name: str, values: object) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"{name} must be a non-empty sequence of positive numbers, got {values!r}")
    numbers = [check_number(name, v) for v in values]
    if any(not v > 0 for v in numbers):
        raise ValueError(f"{name} must contain positive numbers only, got {values!r}")
    return numbers


def _check_fraction(name: str, value: object) -> float:
    number = check_number(name, value)
    if not 0 <= number <= 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return number


def multibox_prior(data: Tensor, sizes: Sequence[float], ratios: Sequence[float]) -> Tensor:
    """Anchor boxes centred on every pixel of a feature map (or image).

    With ``n`` sizes and ``m`` ratios each pixel gets ``n + m - 1`` anchors, in the order
    ``(s1, r1), (s2, r1), ..., (sn, r1), (s1, r2), ..., (s1, rm)``: every size with the first
    ratio, then every other ratio with the first size. An anchor of size ``s`` and ratio ``r``
    has normalized width ``s * sqrt(r) * h / w`` and height ``s / sqrt(r)``; on a square map
    that is width ``s * sqrt(r)`` and height ``s / sqrt(r)``, so ``r`` is width over height and
    ``s`` the side of the square anchor relative to the image. Anchors are not clipped to the
    image.

    Args:
        data: tensor of shape ``(B, C, h, w)``; only its spatial size ``h x w`` is used.
        sizes: positive anchor scales ``s``, fractions of the image height.
        ratios: positive aspect ratios ``r`` (width / height on a square image).

    Returns:
        Tensor of shape ``(1, h * w * (n + m - 1), 4)``, float32 on ``data``'s device: corner
        boxes normalized to [0, 1], centred at ``((j + 0.5) / w, (i + 0.5) / h)`` for pixel
        ``(i, j)``, pixels in row-major order, each pixel's anchors consecutive.

    Raises:
        TypeError: if ``data`` is not a tensor, or a size or ratio is not a number.
        ValueError: if ``data`` is not 4-D or has an empty spatial size, or ``sizes`` or
            ``ratios`` is empty or holds a non-positive number.

    Source: ``multibox_prior`` of d2l §14.4 (anchor boxes).
    """
    _check_tensor("data", data, 4)
    sizes = _check_positive_numbers("sizes", sizes)
    ratios = _check_positive_numbers("ratios", ratios)
    h, w = data.shape[-2:]
    if h == 0 or w == 0:
        raise ValueError(f"data must have a non-empty spatial size, got shape {tuple(data.shape)}")
    pairs = [(s, ratios[0]) for s in sizes] + [(sizes[0], r) for r in ratios[1:]]
    widths = torch.tensor([s * math.sqrt(r) * h / w for s, r in pairs], device=data.device)
    heights = torch.tensor([s / math.sqrt(r) for s, r in pairs], device=data.device)
    centre_y = (torch.arange(h, device=data.device, dtype=torch.float32) + 0.5) / h
    centre_x = (torch.arange(w, device=data.device, dtype=torch.float32) + 0.5) / w
    cy, cx = torch.meshgrid(centre_y, centre_x, indexing="ij")  # (h, w) each
    centres = torch.stack([cx, cy, cx, cy], dim=-1).reshape(-1, 1, 4)  # (h*w, 1, 4)
    half = torch.stack([-widths, -heights, widths, heights], dim=-1) / 2  # (k, 4)
    return (centres + half).reshape(1, -1, 4)


def assign_anchor_to_bbox(
    ground_truth: Tensor, anchors: Tensor, iou_threshold: float = 0.5
) -> Tensor:
    """Assign each anchor the ground-truth box it should predict, or none.

    The algorithm: take the largest entry of the IoU matrix (anchors x ground truths); that
    anchor gets that ground truth, and the anchor's row and the ground truth's column are
    discarded; repeat until every ground truth has one anchor (ties go to the lower index).
    Then every other anchor gets the ground truth it overlaps most, if that IoU is at least
    ``iou_threshold``. Every ground truth thus gets at least one anchor, even one it barely
    overlaps.

    Args:
        ground_truth: tensor of shape ``(m, 4)``, corner boxes (no padding rows).
        anchors: tensor of shape ``(A, 4)``, corner boxes in the same units.
        iou_threshold: the IoU from which an anchor is assigned in the second step.

    Returns:
        Tensor of shape ``(A,)``, int64: the index of the assigned ground truth, ``-1`` for none.

    Raises:
        TypeError: if a box argument is not a tensor or ``iou_threshold`` is not a number.
        ValueError: if a box argument is not of shape ``(*, 4)``, or ``iou_threshold`` is
            outside [0, 1].

    Source: ``assign_anchor_to_bbox`` of d2l §14.4.3; IoU by ``torchvision.ops.box_iou``.
    """
    _check_tensor("ground_truth", ground_truth, 2, 4)
    _check_tensor("anchors", anchors, 2, 4)
    iou_threshold = _check_fraction("iou_threshold", iou_threshold)
    num_anchors, num_gt = anchors.shape[0], ground_truth.shape[0]
    assigned = torch.full((num_anchors,), -1, dtype=torch.long, device=anchors.device)
    if num_anchors == 0 or num_gt == 0:
        return assigned
    iou = box_iou(anchors, ground_truth.to(anchors.dtype))  # (A, m)
    # Step 1: each ground truth gets its best anchor, greedily by the largest IoU.
    remaining = iou.clone()
    for _ in range(min(num_gt, num_anchors)):
        flat = int(torch.argmax(remaining))
        anchor, gt = divmod(flat, num_gt)
        assigned[anchor] = gt
        remaining[:, gt] = -1
        remaining[anchor, :] = -1
    # Step 2: the other anchors, by threshold on their best ground truth.
    best_iou, best_gt = iou.max(dim=1)
    free = (assigned < 0) & (best_iou >= iou_threshold)
    assigned[free] = best_gt[free]
    return assigned


def offset_boxes(anchors: Tensor, assigned: Tensor, eps: float = 1e-6) -> Tensor:
    """Offsets that move and stretch each anchor onto its assigned box.

    With anchor centre ``(x, y)`` and size ``(w, h)``, and box centre ``(x', y')`` and size
    ``(w', h')``, the offsets are ``((x' - x) / w · 10, (y' - y) / h · 10, 5 · log(w' / w),
    5 · log(h' / h))`` (``eps`` is added inside the logarithm so that an empty box gives a
    finite number). :func:`offset_inverse` undoes it.

    Args:
        anchors: tensor of shape ``(A, 4)``, corner boxes.
        assigned: tensor of shape ``(A, 4)``, the corner box each anchor should predict.
        eps: small positive number added to the size ratios inside the logarithm.

    Returns:
        Tensor of shape ``(A, 4)``: the offsets.

    Raises:
        TypeError: if a box argument is not a tensor or ``eps`` is not a number.
        ValueError: if a box argument is not of shape ``(A, 4)``, the two differ in shape, or
            ``eps`` is negative.

    Source: ``offset_boxes`` of d2l §14.4.3 (constants from SSD, Liu et al., 2016).
    """
    _check_tensor("anchors", anchors, 2, 4)
    _check_tensor("assigned", assigned, 2, 4)
    if anchors.shape != assigned.shape:
        raise ValueError(
            f"anchors and assigned must have the same shape, got {tuple(anchors.shape)} "
            f"and {tuple(assigned.shape)}"
        )
    if check_number("eps", eps) < 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    c_anc = box_convert(anchors, "xyxy", "cxcywh")
    c_box = box_convert(assigned, "xyxy", "cxcywh")
    offset_xy = OFFSET_SCALE_XY * (c_box[:, :2] - c_anc[:, :2]) / c_anc[:, 2:]
    offset_wh = OFFSET_SCALE_WH * torch.log(eps + c_box[:, 2:] / c_anc[:, 2:])
    return torch.cat([offset_xy, offset_wh], dim=1)


def offset_inverse(anchors: Tensor, offsets: Tensor) -> Tensor:
    """The boxes that ``offsets`` (as made by :func:`offset_boxes`) describe around ``anchors``.

    Args:
        anchors: tensor of shape ``(A, 4)``, corner boxes.
        offsets: tensor of shape ``(A, 4)``: centre offsets ``(Δx / w · 10, Δy / h · 10)`` and
            size offsets ``(5 · log(w' / w), 5 · log(h' / h))``.

    Returns:
        Tensor of shape ``(A, 4)``: the predicted corner boxes, in the units of ``anchors``.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if an argument is not of shape ``(A, 4)`` or the two differ in shape.

    Source: ``offset_inverse`` of d2l §14.4.4.
    """
    _check_tensor("anchors", anchors, 2, 4)
    _check_tensor("offsets", offsets, 2, 4)
    if anchors.shape != offsets.shape:
        raise ValueError(
            f"anchors and offsets must have the same shape, got {tuple(anchors.shape)} "
            f"and {tuple(offsets.shape)}"
        )
    c_anc = box_convert(anchors, "xyxy", "cxcywh")
    centre = offsets[:, :2] * c_anc[:, 2:] / OFFSET_SCALE_XY + c_anc[:, :2]
    size = torch.exp(offsets[:, 2:] / OFFSET_SCALE_WH) * c_anc[:, 2:]
    return box_convert(torch.cat([centre, size], dim=1), "cxcywh", "xyxy")


def multibox_target(anchors: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Training targets for every anchor of every image: class, offsets and offset mask.

    Each anchor is assigned a ground-truth box with :func:`assign_anchor_to_bbox` (IoU
    threshold 0.5). An assigned anchor gets class ``c + 1`` for the object class ``c`` and the
    offsets of :func:`offset_boxes` to its box; an unassigned anchor is background, class 0,
    with offsets 0 and mask 0 (its offsets are not part of the loss).

    Args:
        anchors: tensor of shape ``(1, A, 4)``, normalized corner boxes (as made by
            :func:`multibox_prior`).
        labels: tensor of shape ``(B, m, 5)``: rows ``[class, x1, y1, x2, y2]`` with
            ``class >= 0`` and normalized corner boxes; rows with ``class = -1`` are padding
            and are ignored.

    Returns:
        ``(offsets, mask, classes)``: ``offsets`` of shape ``(B, A * 4)``; ``mask`` of shape
        ``(B, A * 4)``, 1 for the four offsets of an assigned anchor and 0 for background;
        ``classes`` of shape ``(B, A)``, int64, 0 for background and ``c + 1`` for class ``c``.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if ``anchors`` is not of shape ``(1, A, 4)`` or ``labels`` not of shape
            ``(B, m, 5)``.

    Source: ``multibox_target`` of d2l §14.4.3.
    """
    _check_tensor("anchors", anchors, 3, 4)
    _check_tensor("labels", labels, 3, 5)
    if anchors.shape[0] != 1:
        raise ValueError(f"anchors must have shape (1, A, 4), got {tuple(anchors.shape)}")
    anchors = anchors[0]
    num_anchors = anchors.shape[0]
    all_offsets, all_masks, all_classes = [], [], []
    for label in labels:
        label = label[label[:, 0] >= 0].to(anchors.dtype)  # drop padding rows
        gt_index = assign_anchor_to_bbox(label[:, 1:], anchors)
        positive = gt_index >= 0
        classes = torch.zeros(num_anchors, dtype=torch.long, device=anchors.device)
        classes[positive] = label[gt_index[positive], 0].long() + 1
        assigned = torch.zeros_like(anchors)
        assigned[positive] = label[gt_index[positive], 1:]
        mask = positive.to(anchors.dtype)[:, None].expand(-1, 4)  # (A, 4)
        offsets = offset_boxes(anchors, assigned) * mask
        all_offsets.append(offsets.reshape(-1))
        all_masks.append(mask.reshape(-1))
        all_classes.append(classes)
    return torch.stack(all_offsets), torch.stack(all_masks), torch.stack(all_classes)


def multibox_detection(
    cls_probs: Tensor,
    offset_preds: Tensor,
    anchors: Tensor,
    nms_threshold: float = 0.5,
    pos_threshold: float = 0.009,
) -> Tensor:
    """Predicted boxes from class probabilities and offsets per anchor, with per-class NMS.

    For each anchor: its class is the most probable object class (background excluded), its
    confidence that probability, its box the anchor moved by :func:`offset_inverse`. Then
    non-maximum suppression runs **per class** with ``torchvision.ops.batched_nms``: a box is
    suppressed only by a more confident box *of the same class* that overlaps it with IoU
    above ``nms_threshold``. (d2l's ``multibox_detection`` runs one class-agnostic NMS over all
    boxes instead, so there a confident cat can suppress an overlapping dog.) Suppressed boxes
    get class -1. A box whose confidence is below ``pos_threshold`` also gets class -1, and its
    confidence is replaced by ``1 - confidence`` (the confidence that it is background), as in
    d2l.

    Args:
        cls_probs: tensor of shape ``(B, num_classes + 1, A)``: class probabilities per anchor,
            row 0 the background.
        offset_preds: tensor of shape ``(B, A * 4)``: predicted offsets, four per anchor.
        anchors: tensor of shape ``(1, A, 4)``: normalized corner boxes.
        nms_threshold: IoU above which the less confident of two boxes of one class is dropped.
        pos_threshold: confidence below which a box counts as background.

    Returns:
        Tensor of shape ``(B, A, 6)``: rows ``[class, confidence, x1, y1, x2, y2]`` with the
        object class ``c`` (as in the labels of :func:`multibox_target`, not ``c + 1``) or
        ``-1``. Per image, the boxes kept by NMS come first, by decreasing confidence, then the
        suppressed ones in anchor order.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if the shapes do not fit together, ``cls_probs`` has no object class, or
            ``nms_threshold`` is outside [0, 1].

    Source: ``multibox_detection`` of d2l §14.4.4, with per-class instead of class-agnostic NMS.
    """
    _check_tensor("cls_probs", cls_probs, 3)
    _check_tensor("offset_preds", offset_preds, 2)
    _check_tensor("anchors", anchors, 3, 4)
    nms_threshold = _check_fraction("nms_threshold", nms_threshold)
    pos_threshold = check_number("pos_threshold", pos_threshold)
    batch_size, num_rows, num_anchors = cls_probs.shape
    if num_rows < 2:
        raise ValueError(
            f"cls_probs must have shape (B, num_classes + 1, A) with num_classes >= 1, "
            f"got {tuple(cls_probs.shape)}"
        )
    if anchors.shape[:2] != (1, num_anchors):
        raise ValueError(
            f"anchors must have shape (1, {num_anchors}, 4) to match cls_probs, "
            f"got {tuple(anchors.shape)}"
        )
    if offset_preds.shape != (batch_size, num_anchors * 4):
        raise ValueError(
            f"offset_preds must have shape ({batch_size}, {num_anchors * 4}) to match "
            f"cls_probs, got {tuple(offset_preds.shape)}"
        )
    anchors = anchors[0]
    out = []
    for probs, offsets in zip(cls_probs, offset_preds):
        conf, class_id = probs[1:].max(dim=0)  # (A,) each, background row left out
        boxes = offset_inverse(anchors, offsets.reshape(-1, 4))
        keep = batched_nms(boxes, conf, class_id, nms_threshold)  # by decreasing confidence
        suppressed = torch.ones(num_anchors, dtype=torch.bool, device=conf.device)
        suppressed[keep] = False
        order = torch.cat([keep, torch.nonzero(suppressed).flatten()])
        class_id = torch.where(suppressed, -1, class_id)[order].to(conf.dtype)
        conf, boxes = conf[order].clone(), boxes[order]
        low = conf < pos_threshold
        class_id[low] = -1
        conf[low] = 1 - conf[low]
        out.append(torch.cat([class_id[:, None], conf[:, None], boxes], dim=1))
    return torch.stack(out)
