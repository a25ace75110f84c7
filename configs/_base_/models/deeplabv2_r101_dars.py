# DeepLabV2 as the official DARS code builds it (CVMI-Lab/DARS
# model/deeplabv2.py, from AdvSemiSeg), for the DARS configs only:
# - torchvision's ImageNet ResNet-101 (mmseg `ResNet`, 7x7 stem; the DARS
#   README points at download.pytorch.org/models/resnet101-5d3b4d8f.pth);
# - stride on the first 1x1 convolution of a block (`style='caffe'`,
#   deeplabv2.py lines 77-84), stages 3-4 dilated 2 / 4 in every block,
#   the first one included (no contraction; lines 82-84, 154-155);
# - BatchNorm with frozen affine parameters (requires_grad False, lines
#   78-91 and 148-149, 176-177) in training mode (batch statistics,
#   running statistics updated), not synchronised across GPUs (the yamls'
#   sync_bn is never passed to this model: tool/train.py lines 187-194);
# - ASPP-v2 classifier on stage 4 whose loop returns inside its first pass,
#   so only rates 6 and 12 are summed (lines 131-135):
#   ASPPV2Head(official_early_return=True); False gives the paper's four
#   branches;
# - no auxiliary head (aux_weight 0.0 in the yamls).
# - learning rates as the official optimizer groups: tool/train.py lines
#   196-202 put conv1, bn1, layer1..layer4 (pretrained_layers(),
#   deeplabv2.py lines 249-265) and the classifier (new_layers()) in seven
#   groups, and tool/train_func.py lines 162-165 give the first
#   `index_split = 5` the base lr and the rest 10x: layer4 trains at 10x,
#   like the classifier (dars_deeplabv2_optim_wrapper; the x10 on
#   decode_head comes from _base_/schedules/semi_sgd_poly.py).
# A DARS config takes it with `model = dict(_base_.dars_deeplabv2)` and
# `optim_wrapper = _base_.dars_deeplabv2_optim_wrapper` and completes the
# model (segmentor type, data preprocessor, test_cfg); it defines no
# `model` of its own so that it can be listed next to another base config.
dars_deeplabv2 = dict(
    pretrained='torchvision://resnet101',
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=False,
        style='caffe',
        contract_dilation=False),
    decode_head=dict(
        type='ASPPV2Head',
        in_channels=2048,
        in_index=3,
        dilations=(6, 12, 18, 24),
        official_early_return=True,
        dropout_ratio=0.,
        num_classes=19,
        align_corners=False,
        # a mean over each branch's own valid pixels, as the official
        # nn.CrossEntropyLoss(ignore_index=255)
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict())
dars_deeplabv2_optim_wrapper = dict(
    optimizer=dict(lr=0.002),
    paramwise_cfg=dict(custom_keys={'backbone.layer4': dict(lr_mult=10.)}))
