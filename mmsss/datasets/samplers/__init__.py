from .multi_source_sampler import *  # noqa: F401,F403
