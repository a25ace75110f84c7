# DARS, Cityscapes 1/4 (744 labeled + 2,231 unlabeled), PSPNet-50 at crop
# 361: reproduces CVMI-Lab/DARS config/cityscapes/train_psp50_cityscapes_
# split4_crop361_round{0,1,2}.yaml and gen_pseudo_label_psp50_cityscapes_
# split4_crop361_for_round{1,2}.yaml: α 0.4 -> 0.6; otherwise as
# cityscapes_1-8_pspnet50_361.py (scale [0.25, 1.0] -> [0.25, 1.0] ->
# [0.2, 1.5], pseudo-labels and evaluation at base size 1024).
_base_ = './cityscapes_1-8_pspnet50_361.py'
split_source = 'dars'  # or 'u2pl' (see cityscapes_1-8_pspnet50_713.py)
labeled_list, unlabeled_list = _base_.split_lists[split_source]['744']
train_dataloader = dict(dataset=dict(ann_file=labeled_list))
train_cfg = _base_.train_cfg
train_cfg.round_dataloader.dataset.datasets[0].ann_file = labeled_list
train_cfg.rounds[1].label_ratio = 0.4
train_cfg.rounds[2].label_ratio = 0.6
custom_hooks = _base_.custom_hooks
custom_hooks[0].labeled_dataset.ann_file = labeled_list
custom_hooks[0].unlabeled_dataset.ann_file = unlabeled_list
