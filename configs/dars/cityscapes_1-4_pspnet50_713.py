# DARS, Cityscapes 1/4 (744 labeled + 2,231 unlabeled), PSPNet-50, crop 713:
# reproduces CVMI-Lab/DARS config/cityscapes/train_psp50_cityscapes_split4_
# crop713_round{0,1,2}.yaml and gen_pseudo_label_psp50_cityscapes_split4_
# crop713_for_round{1,2}.yaml: α 0.4 -> 0.65, random scale [0.5, 2.0] ->
# [0.5, 2.0] -> [0.4, 2.5] (rounds 0, 1, 2); 200 epochs per round (9,200 /
# 55,800 / 55,800 iterations at 16 per step); otherwise as
# cityscapes_1-8_pspnet50_713.py.
_base_ = './cityscapes_1-8_pspnet50_713.py'
split_source = 'dars'  # or 'u2pl' (see cityscapes_1-8_pspnet50_713.py)
labeled_list, unlabeled_list = _base_.split_lists[split_source]['744']
train_dataloader = dict(dataset=dict(ann_file=labeled_list))
train_cfg = _base_.train_cfg
train_cfg.round_dataloader.dataset.datasets[0].ann_file = labeled_list
train_cfg.rounds[2].ratio_range = (0.4, 2.5)
custom_hooks = _base_.custom_hooks
custom_hooks[0].labeled_dataset.ann_file = labeled_list
custom_hooks[0].unlabeled_dataset.ann_file = unlabeled_list
