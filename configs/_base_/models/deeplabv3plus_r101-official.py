# The official DeepLabV3+ of U2PL/iMAS (and, with two options, UniMatch):
# deep-stem ResNet-101 (3x3 stem 64-64-128, max-pool ceil_mode=True;
# ZhenZHAO/iMAS imas/models/resnet.py) at output stride 16 with the
# multi-grid last stage of the iMAS/U2PL configs (torchvision rates x 2/2/4
# = 2/4/8, imas/models/resnet.py:233-278), and the plain head
# (imas/models/decoder.py, imas/models/base.py): ASPP of ordinary 3x3
# convs (rates 6/12/18) + 1x1 + image pooling, 1x1 projection to 256,
# 48-channel low-level projection, two 3x3 256-channel fusion convs,
# classifier; no dropout, align_corners=True.
# UniMatch (LiheYoung/UniMatch model/backbone/resnet.py, configs/*.yaml):
# backbone.ceil_mode=False, backbone.multi_grid=None,
# decode_head.c1_bias=False.
#
# ImageNet weights: resnet101.pth of CPS/U2PL (the download link is in the
# U2PL and UniMatch READMEs), converted once:
#   python tools/model_converters/deepstem_resnet2mmseg.py \
#       pretrained/resnet101.pth pretrain/resnet101_deepstem_mmseg.pth
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='DeepStemResNet',
        depth=101,
        stem_channels=128,
        ceil_mode=True,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 2),
        strides=(1, 2, 2, 1),
        multi_grid=(2, 4, 8),
        contract_dilation=True,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/resnet101_deepstem_mmseg.pth')),
    decode_head=dict(
        type='OfficialDeepLabV3PlusHead',
        in_channels=2048,
        in_index=3,
        channels=256,
        dilations=(1, 6, 12, 18),
        c1_in_channels=256,
        c1_channels=48,
        c1_bias=True,
        dropout_ratio=0.,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
