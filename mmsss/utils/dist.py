"""Distributed runs on CPU-only machines (gloo), e.g. tests and CI."""
import torch
import torch.distributed as torch_dist
from mmengine.model import is_model_wrapper

__all__ = ['setup_cpu_distributed', 'init_tool_distributed', 'unwrap_model']


def unwrap_model(model):
    """The model inside a DDP/FSDP-style wrapper (mmengine's
    ``is_model_wrapper``), or ``model`` itself."""
    return model.module if is_model_wrapper(model) else model


def setup_cpu_distributed(cfg) -> bool:
    """Make ``--launcher pytorch`` work without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its
    ``MMDistributedDataParallel`` default passes ``device_ids=[LOCAL_RANK]``,
    both of which fail on a CPU-only machine. Here the gloo process group is
    created up front (mmengine then skips its own init) and the model wrapper
    gets ``device_ids=None``. Nothing changes when CUDA is available or the
    launcher is 'none'.

    Returns:
        bool: whether the CPU set-up was applied.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return False
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    return True


def init_tool_distributed(cfg) -> None:
    """Create the process group of a tool run with ``--launcher`` before any
    runner exists (pipelines that also predict outside a runner).

    Without CUDA: :func:`setup_cpu_distributed` (gloo, and DDP without
    devices for the runners built later from ``cfg``). With CUDA: mmengine's
    ``init_dist`` with ``env_cfg.dist_cfg`` (default NCCL), as its runner
    would call it. Nothing happens for ``launcher='none'`` or when a group
    exists already.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or setup_cpu_distributed(cfg):
        return
    if not torch_dist.is_initialized():
        from mmengine.dist import init_dist
        dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg') or {})
        dist_cfg.setdefault('backend', 'nccl')
        init_dist(launcher, **dist_cfg)
