"""Tests of the imageattach-spec plugin itself."""

pytest_plugins = ["pytester"]
