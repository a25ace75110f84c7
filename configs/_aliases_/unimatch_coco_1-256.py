# Unique name of configs/unimatch/coco_1-256.py for `mim train mmsss unimatch_coco_1-256.py`.
_base_ = '../unimatch/coco_1-256.py'
