from .base_pixel_sampler import BasePixelSampler, build_pixel_sampler
from .ohem_pixel_sampler import (OHEMPixelSampler, ohem_weights_by_loss,
                                 ohem_weights_by_probability)
from .pseudo_sampler import PseudoSampler
from .random_sampler import RandomSampler, random_choice
from .sampling_result import SamplingResult

__all__ = ['BasePixelSampler', 'OHEMPixelSampler', 'PseudoSampler', 'RandomSampler',
           'SamplingResult', 'build_pixel_sampler', 'ohem_weights_by_loss',
           'ohem_weights_by_probability', 'random_choice']
