"""imageattach wsgi."""
