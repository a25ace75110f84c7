from . import samplers, transforms  # noqa: F401
from .semi_datasets import *  # noqa: F401,F403
from .synthetic import *  # noqa: F401,F403
from .semi_ade20k_coco import *  # noqa: F401,F403
from .semi_split_dataset import *  # noqa: F401,F403
