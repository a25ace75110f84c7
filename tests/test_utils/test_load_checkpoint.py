"""mmsss.utils.checkpoint.load_checkpoint_checked: errors name the file and
the offending weights."""
import pytest
import torch
import torch.nn as nn

from mmsss.utils.checkpoint import load_checkpoint_checked


def _model(num_classes=3):
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                         nn.Conv2d(4, num_classes, 1))


def _save(tmp_path, state, name='ckpt.pth', wrap=True):
    path = str(tmp_path / name)
    torch.save(dict(meta=dict(iter=7), state_dict=state) if wrap else state,
               path)
    return path


def test_loads_wrapped_and_bare_state_dicts(tmp_path):
    src = _model()
    for wrap in (True, False):
        dst = _model()
        load_checkpoint_checked(
            dst, _save(tmp_path, src.state_dict(), wrap=wrap))
        assert all(
            torch.equal(a, b)
            for a, b in zip(src.state_dict().values(),
                            dst.state_dict().values()))
    assert load_checkpoint_checked(
        _model(), _save(tmp_path, src.state_dict()))['meta'] == dict(iter=7)


def test_shape_mismatch_names_file_and_keys(tmp_path):
    path = _save(tmp_path, _model(5).state_dict())
    with pytest.raises(ValueError) as err:
        load_checkpoint_checked(_model(3), path)
    msg = str(err.value)
    assert path in msg and 'different num_classes' in msg
    assert '2.weight: checkpoint (5, 4, 1, 1) vs model (3, 4, 1, 1)' in msg
    assert '2.bias: checkpoint (5,) vs model (3,)' in msg


def test_missing_key_names_file_and_keys(tmp_path):
    state = _model().state_dict()
    del state['1.running_var']
    path = _save(tmp_path, state)
    for strict in (True, False):
        with pytest.raises(KeyError, match=r'lacks 1 weights of the model, '
                           r"e.g. \['1.running_var'\]") as err:
            load_checkpoint_checked(_model(), path, strict=strict)
        assert path in str(err.value)


def test_unexpected_keys_only_fail_when_strict(tmp_path):
    state = _model().state_dict()
    state['projector.weight'] = torch.zeros(2)
    path = _save(tmp_path, state)
    with pytest.raises(KeyError, match=r"1 weights the model lacks, e.g. "
                       r"\['projector.weight'\]") as err:
        load_checkpoint_checked(_model(), path)
    assert path in str(err.value)
    model = _model()
    load_checkpoint_checked(model, path, strict=False)
    assert torch.equal(model[2].weight, state['2.weight'])


def test_missing_file_and_no_state_dict(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint_checked(_model(), str(tmp_path / 'nope.pth'))
    path = _save(tmp_path, [1, 2], wrap=False)
    with pytest.raises(KeyError, match='holds no state dict'):
        load_checkpoint_checked(_model(), path)
