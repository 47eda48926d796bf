"""The QEMU/KVM driver (``qemu:///session``, ``qemu:///system``) on real, daemonized QEMU processes."""

from .driver import QemuDriver

DRIVER = QemuDriver

__all__ = ["DRIVER", "QemuDriver"]
