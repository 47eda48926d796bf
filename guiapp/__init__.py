"""guiapp: a virtualization toolkit (guiapp.backend) and a Qt desktop manager (guiapp.app)."""

__version__ = "0.1.0"
