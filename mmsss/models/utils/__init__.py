from .cutmix import box_masks, cutmix, random_boxes
from .logits import resize_to

__all__ = ['box_masks', 'cutmix', 'random_boxes', 'resize_to']
