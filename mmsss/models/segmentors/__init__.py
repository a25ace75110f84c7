from .mean_teacher import MeanTeacherSegmentor
from .semi_base import SemiBaseSegmentor

__all__ = ['SemiBaseSegmentor', 'MeanTeacherSegmentor']
from .imas import IMASSegmentor  # noqa: E402

__all__ += ['IMASSegmentor']
from .esl import ESLSegmentor  # noqa: E402

__all__ += ['ESLSegmentor']
from .test_modes_encoder_decoder import TestModesEncoderDecoder  # noqa: E402

__all__ += ['TestModesEncoderDecoder']
from .self_training import SelfTrainingSegmentor  # noqa: E402

__all__ += ['SelfTrainingSegmentor']
from .three_stage import ThreeStageSegmentor  # noqa: E402

__all__ += ['ThreeStageSegmentor']
from .unimatch import FixMatchSegmentor, UniMatchSegmentor  # noqa: E402

__all__ += ['UniMatchSegmentor', 'FixMatchSegmentor']
from .unimatch_v2 import UniMatchV2Segmentor  # noqa: E402

__all__ += ['UniMatchV2Segmentor']
