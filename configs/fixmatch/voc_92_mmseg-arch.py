# FixMatch: as voc_92.py with mmseg's own DeepLabV3+ ResNet-101-V1c
# instead of UniMatch's network (../unimatch/_base_/mmseg_arch.py lists
# the differences).
_base_ = ['./voc_92.py', '../unimatch/_base_/mmseg_arch.py']
model = dict(
    segmentor=dict(
        pretrained=_base_.mmseg_pretrained,
        backbone=_base_.mmseg_backbone,
        decode_head=dict(
            _base_.mmseg_decode_head,
            num_classes=21,
            loss_decode=dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                loss_weight=1.0,
                avg_non_ignore=True))))
