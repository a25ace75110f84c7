# UniMatch V2, Cityscapes, 1/4, DINOv2-S (unimatch_v2.py:54-59);
# everything else as cityscapes_1-4_dinov2-b.py.
_base_ = './cityscapes_1-4_dinov2-b.py'
model = dict(segmentor=_base_.dinov2_small)
