"""imageattach core."""
