"""The imageattach demo: a photo gallery kept in SQLite and a local folder.

Run it with ``hatch run demo:serve`` (or ``python -m examples.demo``) and open the URL
it prints.  It does the main job of the library on embedded defaults, the way an
application does it:

- :mod:`examples.demo.models` declares the entities with SQLAlchemy 2.x: ``Photo``,
  whose ``picture`` is an ``image_attachment("PhotoPicture")``, and ``PhotoPicture``,
  an :class:`~imageattach.core.Image`; the database is a SQLite file in the store
  folder, ``.demo.sqlite3``, which the middleware never serves (a dot-file);
- :mod:`examples.demo.gallery` draws sample photos with Pillow on the first run and
  attaches them (``photo.picture.from_blob(data)``, then
  ``generate_thumbnail(width=...)``); the files go to an
  :class:`~imageattach.core.HttpExposedFileSystemStore` when the session flushes;
- :mod:`examples.demo.app` is a plain WSGI app: the gallery page (one query for the
  photos, one for all their images), an upload form (``from_file()``, 400 for a file
  that is no image), and deletion (the files go after the commit); it is wrapped by
  ``store.wsgi_middleware()`` (or ``asgi_middleware()``, or the Pyramid tween of
  :mod:`examples.demo._pyramid`), which serves the images.
"""
