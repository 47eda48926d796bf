"""The main window: the domain list, its actions, the jobs panel and dialogs."""

from .window import MainWindow

__all__ = ["MainWindow"]
