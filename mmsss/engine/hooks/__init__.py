from .data_check_hook import NumClassesCheckHook
from .mean_teacher_hook import MeanTeacherHook

__all__ = ['MeanTeacherHook', 'NumClassesCheckHook']
from .hardness_logger_hook import HardnessLoggerHook  # noqa: E402

__all__ += ['HardnessLoggerHook']
from .pseudo_label_hook import PseudoLabelRoundHook  # noqa: E402

__all__ += ['PseudoLabelRoundHook']
from .prototype_init_hook import PrototypeInitHook  # noqa: E402

__all__ += ['PrototypeInitHook']
from .step_ema_hook import MultiStepEMAHook  # noqa: E402

__all__ += ['MultiStepEMAHook']
from .pseudo_label_vis_hook import PseudoLabelVisHook  # noqa: E402
from .pseudo_label_stats_hook import PseudoLabelStatsHook  # noqa: E402

__all__ += ['PseudoLabelVisHook', 'PseudoLabelStatsHook']
from .random_state_hook import RandomStateHook  # noqa: E402
from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: E402

__all__ += ['RandomStateHook', 'AtomicCheckpointHook']
