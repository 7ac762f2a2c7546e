"""imageattach spec."""
