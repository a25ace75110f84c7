from .multi_source_sampler import *  # noqa: F401,F403
from .sample_seed import *  # noqa: F401,F403
