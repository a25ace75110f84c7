# UniMatch V2, PASCAL VOC 2012 classic, 183 labeled images, DINOv2-S
# (unimatch_v2.py:54-59); everything else as voc_183_dinov2-b.py.
_base_ = './voc_183_dinov2-b.py'
model = dict(segmentor=_base_.dinov2_small)
