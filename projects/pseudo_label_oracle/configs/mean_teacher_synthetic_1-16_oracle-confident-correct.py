# Mean teacher on the synthetic set, 1/16, with its own selection (teacher
# confidence >= τ) minus the teacher's errors.
_base_ = './mean_teacher_synthetic_1-16_oracle-gt.py'
model = dict(oracle_mode='confident_correct')
