# Switches a method config built on deeplabv3plus_r50-d16.py (mmseg's
# DeepLabV3+) or pspnet_r50-d8.py to the official networks, without
# repeating the method's settings (losses, num_classes, test_cfg stay):
#   _base_ = ['./voc_1-8.py', '../_base_/models/official_arch_overrides.py']
#   model = dict(segmentor=_base_.official_deeplabv3plus_r101)
# The layers are those of deeplabv3plus_r101-official.py (DeepLabV3+) and of
# hszhao/semseg model/pspnet.py (PSPNet-50: deep base, max-pool without
# ceil_mode, every 3x3 conv of layer3/layer4 at rate 2/4, PPM/upsampling
# with align_corners=True). Weights: configs/imas/README.md, "Official
# networks and weights".
# Every head initialises as the official model files (plain nn.Conv2d /
# BatchNorm2d, never re-initialised): init_cfg=dict(type='PyTorchDefault')
# (mmsss/models/decode_heads/pytorch_default_init.py), not mmseg's kaiming
# ConvModules and N(0, 0.01) classifier.
official_head_init = dict(type='PyTorchDefault')
official_deeplabv3plus_r101 = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
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
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/resnet101_deepstem_mmseg.pth')),
    # merged into the DepthwiseSeparableASPPHead dict (same arguments)
    decode_head=dict(
        type='OfficialDeepLabV3PlusHead',
        channels=256,
        dilations=(1, 6, 12, 18),
        c1_channels=48,
        c1_bias=True,
        dropout_ratio=0.,
        align_corners=True,
        init_cfg=official_head_init))
official_deeplabv3plus_r50 = dict(
    official_deeplabv3plus_r101,
    backbone=dict(
        official_deeplabv3plus_r101['backbone'],
        depth=50,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/resnet50_deepstem_mmseg.pth')))
# iMAS/U2PL Aux_Module on layer3: 3x3 conv 1024->256, BN, ReLU, 1x1
# classifier; no dropout in iMAS (imas/models/decoder.py:102-117); merged
# into the method config's FCNHead
official_auxiliary_head = dict(
    dropout_ratio=0., align_corners=True, init_cfg=official_head_init)
official_pspnet_r50 = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='DeepStemResNet',
        depth=50,
        stem_channels=128,
        ceil_mode=False,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        contract_dilation=False,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/resnet50_v2_semseg_mmseg.pth')),
    # semseg/DARS model/pspnet.py:8-80: PPM, cls and aux with PyTorch's init
    decode_head=dict(align_corners=True, init_cfg=official_head_init),
    auxiliary_head=dict(align_corners=True, init_cfg=official_head_init))
# output stride 8 (config_semi_os8.yaml: replace_stride_with_dilation
# [False, True, True], multi-grid 2/2/4 of rates 2/4 -> 4/8/16, ASPP
# 12/24/36)
official_deeplabv3plus_r50_os8 = dict(
    official_deeplabv3plus_r50,
    backbone=dict(
        official_deeplabv3plus_r50['backbone'],
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        multi_grid=(4, 8, 16)),
    decode_head=dict(
        official_deeplabv3plus_r101['decode_head'],
        dilations=(1, 12, 24, 36)))
# UniMatch's DeepLabV3+ (LiheYoung/UniMatch model/backbone/resnet.py:90,
# model/semseg/deeplabv3plus.py:25-27; configs/*.yaml: OS16, ASPP 6/12/18):
# max-pool without ceil_mode, no multi-grid, low-level conv without bias
official_deeplabv3plus_r101_unimatch = dict(
    official_deeplabv3plus_r101,
    backbone=dict(
        official_deeplabv3plus_r101['backbone'],
        ceil_mode=False,
        multi_grid=None),
    decode_head=dict(official_deeplabv3plus_r101['decode_head'],
                     c1_bias=False))
official_deeplabv3plus_r50_unimatch = dict(
    official_deeplabv3plus_r101_unimatch,
    backbone=dict(
        official_deeplabv3plus_r101_unimatch['backbone'],
        depth=50,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/resnet50_deepstem_mmseg.pth')))
