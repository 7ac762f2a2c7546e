"""imageattach for Pyramid: a tween that serves an image store, configured by settings.

::

    config = Configurator(settings={"imageattach.path": "/var/lib/myapp/images"})
    config.include("imageattach.pyramid")

or ``pyramid.includes = imageattach.pyramid`` in the ``.ini`` file.  Requests
under ``/__images__/`` are answered from the store by the tween, before routing,
pyramid_tm or the exception view; views get the store as
``request.imageattach_store``, and ``request.imageattach_store.locate(image)``
builds URLs on the current request's host.  The settings are listed in
:data:`SETTINGS` and in the package's README.
"""

from __future__ import annotations

from ._settings import SETTINGS
from ._tween import TWEEN, includeme, tween_factory

__all__ = ["SETTINGS", "TWEEN", "includeme", "tween_factory"]

includeme.__module__ = __name__
tween_factory.__module__ = __name__
