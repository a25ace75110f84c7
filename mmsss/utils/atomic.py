"""Atomic file writes: a temp file in the target's folder, then
:func:`os.replace`, so readers see the old file or the new one, never a
half-written one. On any error the temp file is removed and the old file
is left as it was.

No ``fsync``: none of the writers this replaced synced, and the point is
what concurrent readers and interrupted runs see, not power loss.
"""
import os
import os.path as osp
import secrets
from contextlib import contextmanager
from typing import Any, Iterator, Optional

__all__ = ['atomic_path', 'atomic_write_text', 'atomic_save']


def _create_temp(dirname: str, basename: str, suffix: str) -> str:
    """Create an empty, unused ``.<basename>.<random><suffix>`` in
    ``dirname``. Created like :func:`open` creates files (mode 0o666 less
    the umask), so the renamed file gets the usual permissions (not
    :func:`tempfile.mkstemp`'s 0o600)."""
    for _ in range(100):
        tmp = osp.join(dirname, f'.{basename}.{secrets.token_hex(4)}{suffix}')
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f'no free temporary name for {basename} in '
                          f'{dirname}')


@contextmanager
def atomic_path(path: str, suffix: str = '.tmp') -> Iterator[str]:
    """Yield a temp path next to ``path``; on a normal exit it replaces
    ``path``, on any exception it is removed (and the exception re-raised).

    The folder of ``path`` is created if needed. The temp file exists
    (empty) when the body starts; write it by name, e.g.
    ``torch.save(obj, tmp)`` or ``fig.savefig(tmp)`` (``suffix`` picks the
    extension tools that guess the format see).

    Example:
        >>> with atomic_path('out/final.pth') as tmp:
        ...     torch.save(state, tmp)
    """
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    tmp = _create_temp(dirname, osp.basename(path), suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str,
                      text: str,
                      newline: Optional[str] = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see
    :func:`atomic_path`). ``newline`` is passed to :func:`open` (``''``
    writes ``'\\n'`` untranslated, as the :mod:`csv` module wants)."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8', newline=newline) as f:
            f.write(text)


def atomic_save(obj: Any, path: str) -> None:
    """``torch.save(obj, path)`` atomically (see :func:`atomic_path`)."""
    import torch
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
