# DARS, Cityscapes 1/8, PSPNet-50 at crop 361 (the official low-memory
# setting): reproduces CVMI-Lab/DARS config/cityscapes/train_psp50_
# cityscapes_split8_crop361_round{0,1,2}.yaml and gen_pseudo_label_psp50_
# cityscapes_split8_crop361_for_round{1,2}.yaml: α 0.2 -> 0.5, random scale
# [0.25, 1.0] -> [0.25, 1.0] -> [0.2, 1.5] (rounds 0, 1, 2); pseudo-labels
# and evaluation at half resolution (the yamls' base_size 1024: the image
# resized to a 1,024-pixel long side, 361 windows at stride 241, the logits
# resized back to 2048 x 1024); otherwise as cityscapes_1-8_pspnet50_713.py.
_base_ = './cityscapes_1-8_pspnet50_713.py'
crop_size = (361, 361)
base_size = 1024  # long side at which the teacher and evaluation predict
model = dict(
    data_preprocessor=dict(data_preprocessor=dict(size=crop_size)),
    test_cfg=dict(crop_size=crop_size, stride=(241, 241)))
train_dataloader = _base_.train_dataloader
train_cfg = _base_.train_cfg
train_cfg.rounds[0].ratio_range = (0.25, 1.0)  # documents round 0's range
train_cfg.rounds[1].label_ratio = 0.2
train_cfg.rounds[1].ratio_range = (0.25, 1.0)
train_cfg.rounds[2].label_ratio = 0.5
train_cfg.rounds[2].ratio_range = (0.2, 1.5)
for _pipeline in [
        train_dataloader.dataset.pipeline,
        *[d.pipeline for d in train_cfg.round_dataloader.dataset.datasets]
]:
    for _t in _pipeline:
        if _t['type'] == 'RandomCrop':
            _t['crop_size'] = crop_size
        if _t['type'] == 'RandomResize':  # round 0 (later rounds: per round)
            _t['ratio_range'] = (0.25, 1.0)
del _pipeline, _t
# base_size 1024: every prediction (pseudo-labels, evaluation) on the
# image resized to a 1,024-pixel long side; mmseg resizes the logits back
# to the original size before the argmax / softmax
_resize = dict(type='Resize', scale=(base_size, base_size), keep_ratio=True)
test_pipeline = [
    dict(type='LoadImageFromFile'), _resize,
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
custom_hooks = _base_.custom_hooks
custom_hooks[0].unlabeled_dataset.pipeline = [
    dict(type='LoadImageFromFile'), _resize,
    dict(type='PackSegInputs')
]
del _resize
