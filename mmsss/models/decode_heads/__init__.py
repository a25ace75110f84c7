from .aspp_v2_head import ASPPV2Head
from .official_deeplabv3plus_head import OfficialDeepLabV3PlusHead

__all__ = ['ASPPV2Head', 'OfficialDeepLabV3PlusHead']
