import numpy as np
import torch

from mmsss.models.utils import box_masks, cutmix, random_boxes


def test_box_masks_match_slicing():
    boxes = torch.tensor([[0, 0, 2, 3], [1, 2, 4, 5], [3, 3, 3, 5]])
    masks = box_masks(boxes, (4, 5))
    for m, (y1, x1, y2, x2) in zip(masks, boxes.tolist()):
        ref = np.zeros((4, 5), bool)
        ref[y1:y2, x1:x2] = True
        assert np.array_equal(m.numpy(), ref)


def test_cutmix_pastes_partner_region_per_sample():
    g = torch.Generator().manual_seed(0)
    img = torch.randn(3, 2, 6, 7, generator=g)
    lab = torch.randint(0, 5, (3, 6, 7), generator=g)
    boxes = torch.tensor([[1, 1, 4, 5], [0, 0, 6, 7], [2, 3, 3, 4]])
    masks = box_masks(boxes, (6, 7))
    masks[2] = False  # not triggered
    pair = torch.tensor([2, 0, 1])
    mixed_img, mixed_lab = cutmix(masks, pair, img, lab)
    for i in range(3):
        ref_img, ref_lab = img[i].clone(), lab[i].clone()
        if i != 2:
            y1, x1, y2, x2 = boxes[i].tolist()
            ref_img[:, y1:y2, x1:x2] = img[pair[i], :, y1:y2, x1:x2]
            ref_lab[y1:y2, x1:x2] = lab[pair[i], y1:y2, x1:x2]
        assert torch.equal(mixed_img[i], ref_img)
        assert torch.equal(mixed_lab[i], ref_lab)


def test_random_boxes_inside_image_and_area_range():
    g = torch.Generator().manual_seed(0)
    boxes = random_boxes(500, (40, 60), area_range=(0.1, 0.3), generator=g)
    h = boxes[:, 2] - boxes[:, 0]
    w = boxes[:, 3] - boxes[:, 1]
    assert (boxes[:, :2] >= 0).all()
    assert (boxes[:, 2] <= 40).all() and (boxes[:, 3] <= 60).all()
    area = (h * w).float() / (40 * 60)
    # rounding and clipping at the border move the area a little
    assert area.min() > 0.05 and area.max() < 0.36
    assert area.mean() > 0.15
