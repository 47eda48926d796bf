"""The New-VM wizard (issue 6): an XML-backed wizard for Xen PV/HVM, KVM and QEMU guests."""

from .wizard import NewVMWizard, open_new_vm_wizard

__all__ = ["NewVMWizard", "open_new_vm_wizard"]
