"""Runnable example applications of imageattach (not part of any distribution)."""
