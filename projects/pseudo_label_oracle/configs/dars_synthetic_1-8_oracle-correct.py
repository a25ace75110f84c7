# Synthetic DARS schedule (1/8, three rounds of 1,000 iterations, lr
# restarted per round) where each self-training round trains on all of the
# teacher's correct predictions and none of its mistakes.
_base_ = '../../../configs/dars/ablation/synthetic_1-8_restart-lr.py'
custom_imports = dict(
    imports=['mmsss', 'projects.pseudo_label_oracle.pseudo_label_oracle'],
    allow_failed_imports=False)
custom_hooks = [
    dict(
        type='OracleCorrectPseudoLabelRoundHook',
        unlabeled_dataset={{_base_.unlabeled_predict_dataset}},
        labeled_dataset={{_base_.labeled_dataset}},
        generator=dict(mode='argmax', flip=False, seed=0)),
]
