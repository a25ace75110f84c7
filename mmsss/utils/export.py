"""Export the student or teacher of an mmsss checkpoint as a plain mmseg
segmentor checkpoint.

A semi-supervised checkpoint holds ``student.*`` and ``teacher.*`` weights
(plus method extras such as ESL's projectors, prototypes and memory bank).
Only the ordinary ``EncoderDecoder`` parts (backbone, neck, decode and
auxiliary heads) are kept, without the prefix, so any mmseg config of the
same architecture loads the result (``tools/test.py``, ``load_from``,
``init_cfg``).
"""
import os.path as osp
from typing import Optional, Sequence

from .atomic import atomic_save
from .checkpoint import checkpoint_state_dict, load_checkpoint_file

__all__ = ['export_plain_segmentor', 'plain_segmentor_state_dict',
           'default_export_model', 'SEGMENTOR_MODULES']

# children of mmseg's EncoderDecoder that carry weights
SEGMENTOR_MODULES = ('backbone', 'neck', 'decode_head', 'auxiliary_head')


def default_export_model(state_dict: dict) -> str:
    """``'teacher'`` when the checkpoint has one, else ``'student'``
    (teacher-free methods such as UniMatch/FixMatch save only
    ``student.*``)."""
    heads = {k.split('.', 1)[0] for k in state_dict}
    return 'student' if 'student' in heads and 'teacher' not in heads \
        else 'teacher'


def plain_segmentor_state_dict(
        state_dict: dict,
        model: Optional[str] = None,
        keep: Sequence[str] = SEGMENTOR_MODULES) -> dict:
    """``{name: tensor}`` of ``model`` (``'teacher'`` or ``'student'``;
    None: :func:`default_export_model`) without its prefix; sub-modules
    outside ``keep`` (e.g. ``projector``) are dropped.

    Raises:
        ValueError: ``model`` is not ``'teacher'``/``'student'``.
        KeyError: the state dict has no ``<model>.`` keys.
    """
    if model is None:
        model = default_export_model(state_dict)
    if model not in ('teacher', 'student'):
        raise ValueError(f"model must be 'teacher' or 'student', got "
                         f'{model!r}')
    prefix = f'{model}.'
    own = {k[len(prefix):]: v for k, v in state_dict.items()
           if k.startswith(prefix)}
    if not own:
        tops = sorted({k.split('.', 1)[0] for k in state_dict})
        hint = (' (a teacher-free method, e.g. UniMatch: export the '
                'student)' if model == 'teacher' and 'student' in tops else
                '; is it an mmsss semi-supervised checkpoint?')
        raise KeyError(f"checkpoint has no '{prefix}*' weights (top-level "
                       f'names: {tops}){hint}')
    return {k: v for k, v in own.items() if k.split('.', 1)[0] in keep}


def export_plain_segmentor(checkpoint: str,
                           out_file: str,
                           model: Optional[str] = None,
                           keep: Optional[Sequence[str]] = None) -> dict:
    """Write the ``model`` half of ``checkpoint`` (None: the teacher when
    there is one, else the student) to ``out_file`` as
    ``{'meta': ..., 'state_dict': ...}`` (meta kept, plus
    ``meta['exported_from']``). Written to a temporary file in the same
    folder and renamed, so ``out_file`` is never half-written.

    Returns:
        dict: the exported state dict.
    """
    ckpt = load_checkpoint_file(checkpoint)
    state_dict = checkpoint_state_dict(ckpt, checkpoint)
    if model is None:
        model = default_export_model(state_dict)
    plain = plain_segmentor_state_dict(state_dict, model,
                                       keep or SEGMENTOR_MODULES)
    meta = dict(ckpt.get('meta') or {})
    meta['exported_from'] = dict(checkpoint=osp.basename(checkpoint),
                                 model=model)
    atomic_save(dict(meta=meta, state_dict=plain), out_file)
    return plain
