"""Helpers for tests and benchmarks (not imported by ``import mmsss``)."""
from .segmentors import ProjectionSegmentor

__all__ = ['ProjectionSegmentor']
