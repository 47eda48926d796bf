"""The error dialog."""

from .dialog import ErrorDialog, ErrorReport, show_error

__all__ = ["ErrorDialog", "ErrorReport", "show_error"]
