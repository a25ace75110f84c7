# UniMatch: as cityscapes_1-16.py with mmseg's own DeepLabV3+ ResNet-101-V1c
# instead of UniMatch's network (./_base_/mmseg_arch.py lists the differences).
_base_ = ['./cityscapes_1-16.py', './_base_/mmseg_arch.py']
model = dict(
    segmentor=dict(
        pretrained=_base_.mmseg_pretrained,
        backbone=_base_.mmseg_backbone,
        decode_head=dict(
            _base_.mmseg_decode_head,
            num_classes=19,
            loss_decode=dict(
                type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=200000))))
