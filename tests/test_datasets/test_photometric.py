"""UniMatch strong-view colour transforms: the same outputs as calling
torchvision/PIL directly on the RGB image with the same random state."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from mmsss.datasets.transforms import (PILGaussianBlur,
                                       TorchvisionColorJitter,
                                       TorchvisionRandomGrayscale)


def _img(seed=0):
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, (20, 24, 3), dtype=np.uint8)


def _rgb(bgr):
    return Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))


def _bgr(pil):
    return np.asarray(pil)[..., ::-1]


def test_color_jitter_is_torchvision_on_rgb():
    from torchvision import transforms
    img = _img()
    tf = TorchvisionColorJitter(0.5, 0.5, 0.5, 0.25, prob=1.0)
    for seed in range(3):
        torch.manual_seed(seed)
        out = tf(dict(img=img.copy()))['img']
        torch.manual_seed(seed)
        want = _bgr(transforms.ColorJitter(0.5, 0.5, 0.5, 0.25)(_rgb(img)))
        assert np.array_equal(out, want)
        assert not np.array_equal(out, img)
    assert np.array_equal(
        TorchvisionColorJitter(prob=0.)(dict(img=img.copy()))['img'], img)


def test_grayscale_is_itu_601_on_three_channels():
    img = _img(1)
    out = TorchvisionRandomGrayscale(prob=1.)(dict(img=img.copy()))['img']
    want = np.asarray(_rgb(img).convert('L'))
    for c in range(3):
        assert np.array_equal(out[..., c], want)


def test_blur_is_pil_gaussian_with_uniform_sigma():
    img = _img(2)
    np.random.seed(3)
    out = PILGaussianBlur(prob=1., sigma_range=(0.1, 2.0))(dict(
        img=img.copy()))['img']
    np.random.seed(3)
    np.random.rand()  # the application draw
    sigma = np.random.uniform(0.1, 2.0)
    want = _bgr(_rgb(img).filter(ImageFilter.GaussianBlur(radius=sigma)))
    assert np.array_equal(out, want)
    with pytest.raises(ValueError, match='sigma_range'):
        PILGaussianBlur(sigma_range=(2.0, 0.1))
    with pytest.raises(ValueError, match='HxWx3 uint8'):
        PILGaussianBlur(prob=1.)(dict(img=img.astype(np.float32)))
