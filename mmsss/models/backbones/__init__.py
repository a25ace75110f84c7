from .deep_stem_resnet import DeepStemResNet
from .dinov2 import DINOv2ViT

__all__ = ['DeepStemResNet', 'DINOv2ViT']
