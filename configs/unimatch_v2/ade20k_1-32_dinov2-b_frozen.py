# UniMatch V2, ADE20K, 1/32, DINOv2-B frozen (lock_backbone: True,
# configs/ade20k.yaml:21 as shipped, dpt.py:137-139; the official table-7
# runs, for small GPUs); everything else as ade20k_1-32_dinov2-b.py.
_base_ = './ade20k_1-32_dinov2-b.py'
model = dict(segmentor=dict(backbone=dict(frozen=True)))
