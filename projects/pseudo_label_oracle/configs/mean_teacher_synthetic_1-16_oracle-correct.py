# Mean teacher on the synthetic set, 1/16, learning only from the teacher's
# correct predictions (all of them, at any confidence), none of its errors:
# the best any selection of the teacher's pseudo-labels could do.
_base_ = './mean_teacher_synthetic_1-16_oracle-gt.py'
model = dict(oracle_mode='correct')
