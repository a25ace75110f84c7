# UniMatch V2's network (LiheYoung/UniMatch-V2 model/semseg/dpt.py,
# model/backbone/dinov2.py, model/util/blocks.py): a DINOv2 ViT/14 encoder
# (LayerScale, no registers, img 518, pos-embed interpolated with the +0.1
# offset, dinov2.py:400-417) whose blocks [2, 5, 8, 11] (S, B) or
# [4, 11, 17, 23] (L) each go through the final LayerNorm, class token
# dropped (dpt.py:123-128, 144-146), and UniMatch V2's DPT head without BN
# (dpt.py:119, use_bn=False) whose logits are upsampled to 14 x patches with
# align_corners=True (dpt.py:165, 170). Widths per encoder:
# unimatch_v2.py:54-59. ImageNet-free DINOv2 weights of the official README
# (dinov2_vit{s,b,l}14_pretrain.pth), converted once with
# tools/model_converters/dinov2_to_mmsss.py (configs/unimatch_v2/README.md).
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # dataset/transform.py:32-36: ImageNet mean/std on RGB
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
# per encoder size: backbone and head settings that change with it
# (unimatch_v2.py:54-59; taps dpt.py:123-128 are DINOv2ViT's defaults)
dinov2_small = dict(
    backbone=dict(
        arch='small',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/dinov2_vits14_mmsss.pth')),
    decode_head=dict(
        in_channels=384, channels=64, level_channels=(48, 96, 192, 384)))
dinov2_base = dict(
    backbone=dict(
        arch='base',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/dinov2_vitb14_mmsss.pth')),
    decode_head=dict(
        in_channels=768, channels=128, level_channels=(96, 192, 384, 768)))
dinov2_large = dict(
    backbone=dict(
        arch='large',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/dinov2_vitl14_mmsss.pth')),
    decode_head=dict(
        in_channels=1024,
        channels=256,
        level_channels=(256, 512, 1024, 1024)))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='DINOv2ViT',
        arch='base',
        img_size=518,
        patch_size=14,
        drop_path_rate=0.,
        frozen=False,
        init_cfg=dinov2_base['backbone']['init_cfg']),
    decode_head=dict(
        type='UniMatchV2DPTHead',
        in_channels=768,
        in_index=(0, 1, 2, 3),
        channels=128,
        level_channels=(96, 192, 384, 768),
        num_classes=21,
        dropout_ratio=0.,
        align_corners=True,
        # torch CrossEntropyLoss(ignore_index=255): mean over labelled pixels
        # (configs/pascal.yaml:12-15)
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    # supervised.py:68-81: whole image resized to a multiple of 14
    # (bilinear, align_corners=True), prediction resized back
    test_cfg=dict(mode='resize_multiple', size_divisor=14))
