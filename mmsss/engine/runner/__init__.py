from .loops import SemiIterBasedTrainLoop, TeacherStudentValLoop

__all__ = ['SemiIterBasedTrainLoop', 'TeacherStudentValLoop']
