"""Hooks."""
from .seg_visualization_hook import SegVisualizationHook

__all__ = ['SegVisualizationHook']
