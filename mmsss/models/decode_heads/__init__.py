from .aspp_v2_head import ASPPV2Head
from .official_deeplabv3plus_head import OfficialDeepLabV3PlusHead
from .pytorch_default_init import PyTorchDefaultInit

__all__ = ['ASPPV2Head', 'OfficialDeepLabV3PlusHead', 'PyTorchDefaultInit']
from .unimatch_v2_dpt_head import UniMatchV2DPTHead  # noqa: E402

__all__ += ['UniMatchV2DPTHead']
