"""multibox_prior, assign_anchor_to_bbox, offset_boxes/offset_inverse, multibox_target,
multibox_detection and show_bboxes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from torchvision.ops import box_iou

from d2lhelpers import (
    assign_anchor_to_bbox,
    multibox_detection,
    multibox_prior,
    multibox_target,
    offset_boxes,
    offset_inverse,
    show_bboxes,
)


def test_multibox_prior_count_order_and_sizes():
    data = torch.zeros(1, 3, 2, 4)  # h = 2, w = 4
    anchors = multibox_prior(data, sizes=[0.5, 0.25], ratios=[1, 4])
    assert anchors.shape == (1, 2 * 4 * 3, 4)
    first = anchors[0, :3]  # the three anchors of pixel (0, 0), centre (0.125, 0.25)
    # (s1, r1), (s2, r1), (s1, r2): width s * sqrt(r) * h / w, height s / sqrt(r)
    widths = torch.tensor([0.5 * 0.5, 0.25 * 0.5, 0.5 * 2 * 0.5])
    heights = torch.tensor([0.5, 0.25, 0.25])
    expected = torch.stack(
        [0.125 - widths / 2, 0.25 - heights / 2, 0.125 + widths / 2, 0.25 + heights / 2], dim=1
    )
    assert torch.allclose(first, expected, atol=1e-6)


def test_multibox_prior_centres_at_pixel_centres_row_major():
    h, w = 3, 5
    anchors = multibox_prior(torch.zeros(2, 1, h, w), sizes=[0.3], ratios=[1, 2, 0.5])
    per_pixel = anchors[0].reshape(h, w, 3, 4)
    centres = (per_pixel[..., :2] + per_pixel[..., 2:]) / 2  # (h, w, 3, 2)
    for i in range(h):
        for j in range(w):
            want = torch.tensor([(j + 0.5) / w, (i + 0.5) / h])
            assert torch.allclose(centres[i, j], want.expand(3, 2), atol=1e-6)


def test_assign_anchor_to_bbox_hand_made_example():
    anchors = torch.tensor(
        [
            [0.0, 0, 2, 2],  # IoU 1 with gt 0
            [1.0, 0, 3, 2],  # IoU 1/3 with gt 0: below the threshold
            [10.0, 10, 12, 12],  # IoU 2/3 with gt 1
            [0.0, 0, 2, 1],  # IoU 1/2 with gt 0: at the threshold
            [20.0, 20, 21, 21],  # IoU 1/16 with gt 2, its only anchor
            [30.0, 30, 31, 31],  # overlaps nothing
        ]
    )
    gt = torch.tensor([[0.0, 0, 2, 2], [10.0, 10, 12, 13], [20.0, 20, 24, 24]])
    assigned = assign_anchor_to_bbox(gt, anchors)
    assert assigned.dtype == torch.int64
    assert assigned.tolist() == [0, -1, 1, 0, 2, -1]
    assert assign_anchor_to_bbox(gt, anchors, iou_threshold=0.3).tolist() == [0, 0, 1, 0, 2, -1]


def test_assign_anchor_to_bbox_greedy_step_gives_each_gt_a_distinct_anchor():
    torch.manual_seed(0)
    xy = torch.rand(40, 2) * 0.5
    anchors = torch.cat([xy, xy + 0.1 + torch.rand(40, 2) * 0.4], dim=1)
    xy = torch.rand(4, 2) * 0.5
    gt = torch.cat([xy, xy + 0.1 + torch.rand(4, 2) * 0.4], dim=1)
    assigned = assign_anchor_to_bbox(gt, anchors, iou_threshold=1.0)
    assert sorted(assigned[assigned >= 0].tolist()) == [0, 1, 2, 3]
    # the first greedy pick is the largest entry of the IoU matrix
    iou = box_iou(anchors, gt)
    anchor, g = divmod(int(iou.argmax()), 4)
    assert assigned[anchor] == g


def test_assign_anchor_to_bbox_without_ground_truth():
    assigned = assign_anchor_to_bbox(torch.zeros(0, 4), torch.rand(3, 4))
    assert assigned.tolist() == [-1, -1, -1]


def test_offsets_round_trip():
    torch.manual_seed(0)
    xy = torch.rand(50, 2)
    anchors = torch.cat([xy, xy + 0.05 + torch.rand(50, 2)], dim=1)
    xy = torch.rand(50, 2)
    boxes = torch.cat([xy, xy + 0.05 + torch.rand(50, 2)], dim=1)
    offsets = offset_boxes(anchors, boxes)
    assert torch.allclose(offset_inverse(anchors, offsets), boxes, atol=1e-4)
    assert torch.allclose(offset_boxes(anchors, anchors), torch.zeros(50, 4), atol=1e-4)


def test_offsets_known_values():
    anchor = torch.tensor([[0.0, 0, 2, 4]])  # centre (1, 2), size (2, 4)
    box = torch.tensor([[1.0, 0, 3, 8]])  # centre (2, 4), size (2, 8)
    expected = torch.tensor([[10 * 1 / 2, 10 * 2 / 4, 0.0, 5 * torch.log(torch.tensor(2.0))]])
    assert torch.allclose(offset_boxes(anchor, box), expected, atol=1e-4)


def test_multibox_target_hand_made_example():
    anchors = torch.tensor(
        [[[0.0, 0, 0.2, 0.2], [0.1, 0, 0.3, 0.2], [0.5, 0.5, 0.7, 0.7], [0.0, 0, 0.2, 0.1]]]
    )
    labels = torch.tensor(
        [
            [[3.0, 0, 0, 0.2, 0.2], [0.0, 0.5, 0.5, 0.7, 0.75], [-1, -1, -1, -1, -1]],
            [[1.0, 0.1, 0, 0.3, 0.2], [-1, -1, -1, -1, -1], [-1, -1, -1, -1, -1]],
        ]
    )
    offsets, mask, classes = multibox_target(anchors, labels)
    assert offsets.shape == (2, 16) and mask.shape == (2, 16) and classes.shape == (2, 4)
    assert classes.dtype == torch.int64
    assert classes.tolist() == [[4, 0, 1, 4], [0, 2, 0, 0]]
    assert mask[0].tolist() == [1.0] * 4 + [0.0] * 4 + [1.0] * 8
    assert mask[1].tolist() == [0.0] * 4 + [1.0] * 4 + [0.0] * 8
    assert torch.all(offsets[mask == 0] == 0)
    assert torch.allclose(offsets[0, :4], torch.zeros(4), atol=1e-4)  # exact match
    gt = labels[0, 1:2, 1:]
    assert torch.allclose(offsets[0, 8:12], offset_boxes(anchors[0, 2:3], gt)[0])


def _detection_example():
    anchors = torch.tensor(
        [
            [
                [0.10, 0.10, 0.50, 0.50],  # class 0, conf 0.9: kept
                [0.12, 0.10, 0.52, 0.50],  # class 0, conf 0.8, IoU 0.9 with anchor 0: suppressed
                [0.10, 0.12, 0.50, 0.52],  # class 1, conf 0.7, overlaps anchor 0: kept
                [0.70, 0.70, 0.90, 0.90],  # conf 0.005 < pos_threshold: background
            ]
        ]
    )
    cls_probs = torch.tensor(
        [[[0.05, 0.1, 0.2, 0.99], [0.9, 0.8, 0.1, 0.005], [0.05, 0.1, 0.7, 0.005]]]
    )
    return cls_probs, torch.zeros(1, 16), anchors


def test_multibox_detection_nms_is_per_class():
    cls_probs, offset_preds, anchors = _detection_example()
    out = multibox_detection(cls_probs, offset_preds, anchors, nms_threshold=0.5)
    assert out.shape == (1, 4, 6)
    # kept by NMS (anchors 0, 2, 3) by confidence, then the suppressed anchor 1
    assert out[0, :, 0].tolist() == [0, 1, -1, -1]
    assert torch.allclose(out[0, :, 1], torch.tensor([0.9, 0.7, 0.995, 0.8]))
    assert torch.allclose(out[0, :, 2:], anchors[0, [0, 2, 3, 1]])
    plain = multibox_detection(cls_probs, offset_preds, anchors, nms_threshold=1.0)
    assert plain[0, :, 0].tolist() == [0, 0, 1, -1]  # nothing suppressed


def test_multibox_detection_moves_boxes_by_offsets():
    cls_probs, _, anchors = _detection_example()
    offsets = torch.randn(1, 16) * 0.5
    out = multibox_detection(cls_probs, offsets, anchors)
    expected = offset_inverse(anchors[0], offsets.reshape(-1, 4))
    order = out[0, :, 1].argsort()  # match rows by confidence (all distinct here)
    assert torch.allclose(
        out[0, order, 2:], expected[torch.tensor([0.9, 0.8, 0.7, 0.995]).argsort()]
    )


def test_bad_arguments():
    data = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="data"):
        multibox_prior(torch.zeros(2, 2), [0.5], [1])
    with pytest.raises(TypeError, match="data"):
        multibox_prior([[0.0]], [0.5], [1])
    with pytest.raises(ValueError, match="sizes"):
        multibox_prior(data, [], [1])
    with pytest.raises(ValueError, match="ratios"):
        multibox_prior(data, [0.5], [0])
    with pytest.raises(TypeError, match="sizes"):
        multibox_prior(data, ["big"], [1])
    with pytest.raises(ValueError, match="iou_threshold"):
        assign_anchor_to_bbox(torch.rand(1, 4), torch.rand(2, 4), iou_threshold=1.5)
    with pytest.raises(ValueError, match="ground_truth"):
        assign_anchor_to_bbox(torch.rand(1, 5), torch.rand(2, 4))
    with pytest.raises(ValueError, match="same shape"):
        offset_boxes(torch.rand(2, 4), torch.rand(3, 4))
    with pytest.raises(TypeError, match="offsets"):
        offset_inverse(torch.rand(2, 4), [[0.0] * 4] * 2)
    with pytest.raises(ValueError, match="anchors"):
        multibox_target(torch.rand(2, 3, 4), torch.rand(1, 2, 5))
    with pytest.raises(ValueError, match="labels"):
        multibox_target(torch.rand(1, 3, 4), torch.rand(2, 5))
    cls_probs, offset_preds, anchors = _detection_example()
    with pytest.raises(ValueError, match="offset_preds"):
        multibox_detection(cls_probs, torch.zeros(1, 12), anchors)
    with pytest.raises(ValueError, match="cls_probs"):
        multibox_detection(cls_probs[:, :1], offset_preds, anchors)
    with pytest.raises(ValueError, match="nms_threshold"):
        multibox_detection(cls_probs, offset_preds, anchors, nms_threshold=-0.1)


def test_show_bboxes_draws_rectangles_and_labels():
    _, ax = plt.subplots()
    try:
        show_bboxes(ax, torch.tensor([[1.0, 2, 5, 6], [0, 0, 3, 3]]), ["a", "b"], "w")
        assert len(ax.patches) == 2
        x, y = ax.patches[0].get_xy()
        assert (x, y, ax.patches[0].get_width(), ax.patches[0].get_height()) == (1, 2, 4, 4)
        assert [t.get_text() for t in ax.texts] == ["a", "b"]
        with pytest.raises(ValueError, match="labels"):
            show_bboxes(ax, [[0, 0, 1, 1]], ["a", "b"])
        with pytest.raises(ValueError, match="bboxes"):
            show_bboxes(ax, [[0, 0, 1]])
    finally:
        plt.close("all")
