"""Losses (registered in ``MODELS``) and accuracy helpers."""
from .accuracy import Accuracy, accuracy, binary_accuracy
from .cross_entropy_loss import (CrossEntropyLoss, binary_cross_entropy, cross_entropy,
                                 mask_cross_entropy)
from .l1_loss import L1Loss, SmoothL1Loss, l1_loss, smooth_l1_loss
from .utils import get_class_weight, reduce_loss, weight_reduce_loss, weighted_loss

__all__ = [
    'Accuracy', 'accuracy', 'binary_accuracy', 'CrossEntropyLoss', 'binary_cross_entropy',
    'cross_entropy', 'mask_cross_entropy', 'get_class_weight', 'reduce_loss',
    'weight_reduce_loss', 'weighted_loss', 'L1Loss', 'SmoothL1Loss', 'l1_loss',
    'smooth_l1_loss',
]
