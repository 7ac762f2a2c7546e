"""1.1.0's ``sqlalchemy_imageattach.store``: the storage interface."""

from __future__ import annotations

from imageattach.core import Store

__all__ = ["Store"]
