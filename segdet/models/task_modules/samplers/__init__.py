from .random_sampler import RandomSampler, SamplingResult

__all__ = ['RandomSampler', 'SamplingResult']
