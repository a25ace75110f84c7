from .mean_teacher import MeanTeacherSegmentor
from .semi_base import SemiBaseSegmentor

__all__ = ['SemiBaseSegmentor', 'MeanTeacherSegmentor']
from .imas import IMASSegmentor  # noqa: E402

__all__ += ['IMASSegmentor']
