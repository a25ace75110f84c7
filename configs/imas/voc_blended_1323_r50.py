# iMAS, PASCAL VOC 2012 blended, 1,323 labeled images (1/8), DeepLabV3+ R50
# (OS 16, multi-grid); otherwise as voc_blended_1323_r101.py.
_base_ = './voc_blended_1323_r101.py'
model = dict(
    segmentor=dict(
        pretrained='open-mmlab://resnet50_v1c', backbone=dict(depth=50)))
