from .loops import SemiIterBasedTrainLoop, TeacherStudentValLoop

__all__ = ['SemiIterBasedTrainLoop', 'TeacherStudentValLoop']
from .self_training_loop import (LR_SCHEDULES,  # noqa: E402
                                 PSEUDO_LABEL_LIST_KEY,
                                 SelfTrainingRoundsLoop, set_ratio_range)

__all__ += [
    'LR_SCHEDULES', 'PSEUDO_LABEL_LIST_KEY', 'SelfTrainingRoundsLoop',
    'set_ratio_range'
]
from .stages import (FINAL_CHECKPOINT, METRICS_FILE,  # noqa: E402
                     PSEUDO_MASK_TOKEN, build_stage_config, f_theta_config,
                     format_table, run_stages, stage_dirs)

__all__ += [
    'FINAL_CHECKPOINT', 'METRICS_FILE', 'PSEUDO_MASK_TOKEN',
    'build_stage_config', 'f_theta_config', 'format_table', 'run_stages',
    'stage_dirs'
]
