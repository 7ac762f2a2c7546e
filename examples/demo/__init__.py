"""The imageattach demo: a gallery of generated images served from a filesystem store.

Run it with ``hatch run demo:serve`` (or ``python -m examples.demo``) and open
the URL it prints.  It shows the main job of the library on its defaults:

- :mod:`examples.demo.gallery` draws sample images with Pillow and puts them in
  an :class:`~imageattach.core.HttpExposedFileSystemStore` through the store API
  (``store.store()`` and ``store.put_file()``);
- :mod:`examples.demo.app` is a plain WSGI app whose pages link the images with
  ``store.locate()``, wrapped by ``store.wsgi_middleware()`` (or ``asgi_middleware()``, or
  the Pyramid tween), which serves them.
"""
