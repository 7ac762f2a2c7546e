"""Type stub of the optional C module (``_speedups.c``)."""

def same_file(
    dir_fd: int | None,
    follow_symlinks: bool,
    path: str,
    identity: tuple[int, int, int, int, int],
    /,
) -> bool: ...
