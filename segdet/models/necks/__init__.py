"""Necks between backbones and heads."""
from .fpn import FPN

__all__ = ['FPN']
