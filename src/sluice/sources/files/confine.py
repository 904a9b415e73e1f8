"""Paths inside a watched root that never follow a symlink: the file source reads, moves and
writes only real files and directories below the root its watch was configured with.

Every component below the root is checked with ``lstat``, so a symlink anywhere on the way
(``input/x.json``, ``processed/input``, ``failed/x.json.reason``) is refused, never followed.
A race with someone who swaps a checked directory for a symlink in between is not covered:
whoever can write the tree is trusted that far.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from sluice.errors import FileRefused


def relative_file(value: object) -> str:
    """``value`` if it is a plain root-relative path (``a/b.json``: no ``..``, ``.``, empty
    parts, backslashes or NUL); ``FileRefused`` naming it otherwise."""
    if not isinstance(value, str) or not value:
        raise FileRefused(f"file path {value!r:.200} is not a root-relative path")
    path = PurePosixPath(value)
    plain = "/".join(path.parts) == value and not {".", ".."} & set(path.parts)
    if path.is_absolute() or not plain or "\\" in value or "\0" in value:
        raise FileRefused(
            f"file path {value!r:.200} leaves the watched root or is not a plain relative path "
            "(no '..', '.', '//', leading '/' or backslash)"
        )
    return value


def lstat_below(root: Path, relative: str) -> os.stat_result | None:
    """``lstat`` of ``root/relative``, or None if it (or a directory on the way) is missing;
    ``FileRefused`` if any component below ``root`` is a symlink."""
    parts = PurePosixPath(relative).parts
    here = root
    found: os.stat_result | None = None
    for depth, part in enumerate(parts, 1):
        here = here / part
        try:
            found = here.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(found.st_mode):
            link = "/".join(parts[:depth])
            raise FileRefused(f"{link!r} under {str(root)!r} is a symlink: not followed")
        if depth < len(parts) and not stat.S_ISDIR(found.st_mode):
            return None
    return found


def regular_file(root: Path, relative: str) -> os.stat_result | None:
    """The ``lstat`` of a regular file at ``root/relative`` (None if there is none);
    ``FileRefused`` for a symlink on the way or at the end."""
    found = lstat_below(root, relative)
    return found if found is not None and stat.S_ISREG(found.st_mode) else None


def make_dirs(root: Path, relative: str) -> Path:
    """Create the directory ``root/relative`` (and those on the way) and return it;
    ``FileRefused`` if a component is a symlink or not a directory."""
    here = root
    for part in PurePosixPath(relative).parts:
        here = here / part
        with contextlib.suppress(FileExistsError):  # a file, or a symlink: refused below
            here.mkdir(exist_ok=True)
        mode = here.lstat().st_mode
        if not stat.S_ISDIR(mode):
            kind = "a symlink" if stat.S_ISLNK(mode) else "not a directory"
            raise FileRefused(f"{str(here)!r} is {kind}: nothing is moved into it")
    return here


def replace_with_text(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a fresh temporary file renamed over it: a symlink
    at ``target`` is replaced, never written through."""
    _replace(target, lambda out: out.write(text.encode()))


def move_across(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` on another file system: copy into a fresh temporary file
    beside the target, rename it over the target (never through a symlink), remove the
    source."""
    with open(source, "rb") as data:
        _replace(target, lambda out: shutil.copyfileobj(data, out))
    shutil.copystat(source, target, follow_symlinks=False)
    source.unlink()


def _replace(target: Path, fill: Callable[[BinaryIO], object]) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
