"""``python -m guiapp``: the desktop manager."""

from guiapp.app import main

raise SystemExit(main())
