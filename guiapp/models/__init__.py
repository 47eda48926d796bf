"""Qt-free state behind the desktop manager (stats sampling) and its Qt item models."""
