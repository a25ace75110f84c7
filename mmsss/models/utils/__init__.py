from .cutmix import (box_masks, cutmix, cyclic_shift_pairs, mixing_rate,
                     random_boxes, rejection_cutmix_boxes)
from .logits import resize_to

__all__ = [
    'box_masks', 'cutmix', 'cyclic_shift_pairs', 'mixing_rate',
    'random_boxes', 'rejection_cutmix_boxes', 'resize_to'
]
from .hardness import (HARDNESS_STRATEGIES, class_weighted_iou,  # noqa: E402
                       compute_easiness, confidence_ratio)
from .imas_cutmix import (reverse_rank_pairs,  # noqa: E402
                          sample_side_fraction, side_fraction_boxes)

__all__ += [
    'HARDNESS_STRATEGIES', 'class_weighted_iou', 'compute_easiness',
    'confidence_ratio', 'reverse_rank_pairs', 'sample_side_fraction',
    'side_fraction_boxes'
]
from .contrastive import (gathered_dot, pixel_to_part_infonce,  # noqa: E402
                          sample_anchors, sample_bank_indices)
from .prototypes import (assign_parts, ema_update_prototypes,  # noqa: E402
                         fifo_enqueue, masked_average_pool, part_similarity,
                         queue_contents, seeded_kmeans)
from .soft_label import (SOFT_LABEL_TYPES, dynamic_soft_label,  # noqa: E402
                         hard_soft_label, make_soft_label, soft_cross_entropy,
                         topk_soft_label)

__all__ += [
    'gathered_dot', 'pixel_to_part_infonce', 'sample_anchors',
    'sample_bank_indices', 'assign_parts', 'ema_update_prototypes',
    'fifo_enqueue', 'masked_average_pool', 'part_similarity',
    'queue_contents', 'seeded_kmeans', 'SOFT_LABEL_TYPES',
    'dynamic_soft_label', 'hard_soft_label', 'make_soft_label',
    'soft_cross_entropy', 'topk_soft_label'
]
from .head_losses import head_losses  # noqa: E402

__all__ += ['head_losses']
