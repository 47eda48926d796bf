"""The Storage window of the manager: pools with usage bars, volumes, new/delete/resize, upload/download."""

from .window import StorageWindow, open_storage_window

__all__ = ["StorageWindow", "open_storage_window"]
