# UniMatch V2, PASCAL VOC 2012 classic, 92 labeled images, DINOv2-B
# frozen (lock_backbone: True, dpt.py:137-139; the official table-7 runs,
# for small GPUs); everything else as voc_92_dinov2-b.py.
_base_ = './voc_92_dinov2-b.py'
model = dict(segmentor=dict(backbone=dict(frozen=True)))
