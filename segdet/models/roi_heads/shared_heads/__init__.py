"""Shared RoI heads."""
from .fbnet_head_stage import FBNetHeadStage
from .res_layer import ResLayer

__all__ = ['FBNetHeadStage', 'ResLayer']
