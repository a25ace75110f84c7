# Mean teacher on the synthetic set, 1/16, with the unlabeled ground truth as
# pseudo-labels: the upper bound of the unsupervised branch.
_base_ = '../../../configs/mean_teacher/synthetic_1-16.py'
custom_imports = dict(
    imports=['mmsss', 'projects.pseudo_label_oracle.pseudo_label_oracle'],
    allow_failed_imports=False)
model = dict(type='OracleMeanTeacherSegmentor', oracle_mode='gt')
