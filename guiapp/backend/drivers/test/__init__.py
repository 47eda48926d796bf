"""The ``test`` driver (``test:///default``, ``test:///path/to/node.xml``)."""

from .driver import TestDriver

DRIVER = TestDriver

__all__ = ["DRIVER", "TestDriver"]
