from .atomic import atomic_save, atomic_write_text  # noqa: F401
from .checkpoint import (load_checkpoint_checked,  # noqa: F401
                         register_checkpoint_safe_globals)
from .config import load_tool_config  # noqa: F401
from .dist import (init_tool_distributed,  # noqa: F401
                   setup_cpu_distributed, unwrap_model)
from .export import export_plain_segmentor  # noqa: F401
