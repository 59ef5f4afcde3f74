"""Detectors."""
from .base import BaseDetector, undo_flip
from .single_stage import SingleStageDetector
from .two_stage import FasterRCNN, MaskRCNN, TwoStageDetector

__all__ = ['BaseDetector', 'SingleStageDetector', 'TwoStageDetector', 'FasterRCNN', 'MaskRCNN',
           'undo_flip']
