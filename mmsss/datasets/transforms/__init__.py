from .formatting import *  # noqa: F401,F403
from .loading import *  # noqa: F401,F403
from .multi_branch import *  # noqa: F401,F403
from .strong_aug import *  # noqa: F401,F403
from .three_stage import *  # noqa: F401,F403
from .geometric import *  # noqa: F401,F403
from .photometric import *  # noqa: F401,F403
