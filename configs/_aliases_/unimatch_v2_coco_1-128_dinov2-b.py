# Unique name of configs/unimatch_v2/coco_1-128_dinov2-b.py for `mim train mmsss unimatch_v2_coco_1-128_dinov2-b.py`.
_base_ = '../unimatch_v2/coco_1-128_dinov2-b.py'
