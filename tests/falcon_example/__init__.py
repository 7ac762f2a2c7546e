"""A worked example: an imageattach adapter for Falcon, and the suite run against it."""
