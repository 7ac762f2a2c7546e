"""Import Pyramid and WebOb once, quietly, before the tests do.

On the Pythons this project supports, WebOb imports the deprecated ``cgi`` module
and Pyramid imports ``pkg_resources`` (which warns about itself and about
PasteDeploy's namespace package); they warn at their first import, which the
project's ``filterwarnings = error`` would turn into a collection error.  These are
the frameworks' warnings, not ours; everything else still fails on a warning.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
    warnings.filterwarnings("ignore", "Deprecated call to `pkg_resources", DeprecationWarning)
    import pyramid.config
    import pyramid.paster  # noqa: F401
    import pyramid_tm  # noqa: F401
    import webtest  # noqa: F401
