"""Qt widgets of the desktop manager."""
