"""The imageattach benchmark suite.

A program, never a timed test: it measures our WSGI and ASGI middlewares and URL building side
by side with named competitors (Werkzeug's ``SharedDataMiddleware``, whitenoise,
sqlalchemy-imageattach 1.1.0 loaded under an alias, Starlette's ``StaticFiles``; end to end under
uvicorn, gunicorn and wrk, with nginx as the ceiling) in the same run, and reports each figure
as a ratio to ours with a PASS/MISS against the project's targets.  Nothing here asserts.

Run it with ``hatch run bench:run [--quick] [--only serve|memory|urls|asgi|e2e|profile]``; see
``benchmarks/README.md``.
"""
