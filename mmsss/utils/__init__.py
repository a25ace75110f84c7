from .checkpoint import register_checkpoint_safe_globals  # noqa: F401
