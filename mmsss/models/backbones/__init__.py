from .deep_stem_resnet import DeepStemResNet

__all__ = ['DeepStemResNet']
