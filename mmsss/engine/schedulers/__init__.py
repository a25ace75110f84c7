from .round_poly_lr import RoundPolyLR

__all__ = ['RoundPolyLR']
