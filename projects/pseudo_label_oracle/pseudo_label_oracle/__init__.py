"""Pseudo-label oracles: how much a method could gain from its teacher's
predictions at best (analysis only; they read the unlabeled ground truth)."""
from .oracle_mean_teacher import ORACLE_MODES, OracleMeanTeacherSegmentor
from .oracle_round_hook import OracleCorrectPseudoLabelRoundHook

__all__ = [
    'ORACLE_MODES', 'OracleMeanTeacherSegmentor',
    'OracleCorrectPseudoLabelRoundHook'
]
