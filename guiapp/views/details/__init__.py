"""The details window of one domain."""

from .window import DetailsWindow

__all__ = ["DetailsWindow"]
