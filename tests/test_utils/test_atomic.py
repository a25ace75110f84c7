"""mmsss.utils.atomic: the target is replaced whole or not at all, and no
temp file is left behind."""
import os
import stat

import pytest
import torch

from mmsss.utils.atomic import atomic_path, atomic_save, atomic_write_text


def test_write_text_creates_folder_and_replaces(tmp_path):
    path = tmp_path / 'sub' / 'list.txt'
    atomic_write_text(str(path), 'a\nb\n')
    assert path.read_text() == 'a\nb\n'
    atomic_write_text(str(path), 'c\n')
    assert path.read_text() == 'c\n'
    assert os.listdir(path.parent) == ['list.txt']
    # permissions as open() gives them (umask), not mkstemp's 0o600
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_newline_passed_to_open(tmp_path):
    path = tmp_path / 'x.csv'
    atomic_write_text(str(path), 'a\r\nb\n', newline='')
    assert path.read_bytes() == b'a\r\nb\n'


def test_error_midway_keeps_old_content_and_no_temp(tmp_path):
    path = tmp_path / 'final.pth'
    atomic_save(dict(w=torch.ones(2)), str(path))
    old = path.read_bytes()
    with pytest.raises(RuntimeError, match='disk on fire'):
        with atomic_path(str(path)) as tmp:
            with open(tmp, 'wb') as f:
                f.write(b'half a checkpoint')
            raise RuntimeError('disk on fire')
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ['final.pth']
    # an object torch cannot pickle: same
    with pytest.raises(Exception):
        atomic_save(dict(w=torch.ones(2), f=lambda: 0), str(path))
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ['final.pth']
    assert torch.equal(
        torch.load(str(path), weights_only=True)['w'], torch.ones(2))


def test_error_on_a_new_file_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(str(tmp_path / 'new.json')):
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_splits_reexport():
    from mmsss.datasets import splits
    assert splits.atomic_write_text is atomic_write_text
