"""sqlalchemy-imageattach 1.1.0 import paths, kept working on top of imageattach.

Code written for 1.1.0 (``from sqlalchemy_imageattach.stores.fs import
HttpExposedFileSystemStore``) runs unchanged; the names are imageattach's own.
New code should import from :mod:`imageattach.core` and the adapters.
"""

from __future__ import annotations

__version__ = "2.0.0.dev0"
