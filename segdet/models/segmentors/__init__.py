"""Segmentors: whole models for semantic segmentation."""
from .base import BaseSegmentor, logits_to_ori_shape
from .cascade_encoder_decoder import CascadeEncoderDecoder
from .encoder_decoder import EncoderDecoder
from .slide import slide_inference, slide_windows

__all__ = ['BaseSegmentor', 'EncoderDecoder', 'CascadeEncoderDecoder', 'slide_inference',
           'slide_windows', 'logits_to_ori_shape']
