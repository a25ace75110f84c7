# As dars_synthetic_1-8_oracle-correct.py, but each round's pseudo-labels are
# DARS's own selection (α 0.4 -> 0.65) with its errors removed.
_base_ = './dars_synthetic_1-8_oracle-correct.py'
custom_hooks = [
    dict(
        type='OracleCorrectPseudoLabelRoundHook',
        unlabeled_dataset={{_base_.unlabeled_predict_dataset}},
        labeled_dataset={{_base_.labeled_dataset}},
        generator={{_base_.pseudo_label_generator}}),
]
