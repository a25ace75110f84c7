from .ohem_cross_entropy import U2PLOhemCrossEntropy, ohem_kept_mask

__all__ = ['U2PLOhemCrossEntropy', 'ohem_kept_mask']
