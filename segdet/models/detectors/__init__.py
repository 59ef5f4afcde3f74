"""Detectors."""
from .base import BaseDetector, undo_flip, unflip_keypoints
from .single_stage import SingleStageDetector
from .two_stage import FasterRCNN, KeypointRCNN, MaskRCNN, TwoStageDetector

__all__ = ['BaseDetector', 'SingleStageDetector', 'TwoStageDetector', 'FasterRCNN', 'MaskRCNN',
           'KeypointRCNN', 'undo_flip', 'unflip_keypoints']
