from .cutmix import box_masks, cutmix, random_boxes
from .logits import resize_to

__all__ = ['box_masks', 'cutmix', 'random_boxes', 'resize_to']
from .hardness import (HARDNESS_STRATEGIES, class_weighted_iou,  # noqa: E402
                       compute_easiness, confidence_ratio)
from .imas_cutmix import (reverse_rank_pairs,  # noqa: E402
                          sample_side_fraction, side_fraction_boxes)

__all__ += [
    'HARDNESS_STRATEGIES', 'class_weighted_iou', 'compute_easiness',
    'confidence_ratio', 'reverse_rank_pairs', 'sample_side_fraction',
    'side_fraction_boxes'
]
