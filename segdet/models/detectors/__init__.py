"""Detectors."""
from .two_stage import FasterRCNN, MaskRCNN, TwoStageDetector, undo_flip

__all__ = ['TwoStageDetector', 'FasterRCNN', 'MaskRCNN', 'undo_flip']
