"""Small helpers shared by models."""
from .wrappers import resize

__all__ = ['resize']
