"""1.1.0's ``sqlalchemy_imageattach.stores``: store implementations."""
