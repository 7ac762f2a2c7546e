"""The imageattach benchmark suite.

A program, never a timed test: it measures our WSGI middleware and URL building side by side
with named competitors (Werkzeug's ``SharedDataMiddleware``, whitenoise, and
sqlalchemy-imageattach 1.1.0 loaded under an alias) in the same run, and reports each figure as
a ratio to ours with a PASS/MISS against the project's targets.  Nothing here asserts.

Run it with ``hatch run bench:run [--quick] [--only serve|memory|urls|profile]``; see
``benchmarks/README.md``.
"""
