"""A file watch: the root, prefix and suffix that select files, where settled files go, and
the checks that confine every path a message names to the watch's own root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sluice.errors import ConfigError, FileRefused
from sluice.sources.files.confine import regular_file, relative_file


def _relative_dir(value: object, what: str) -> str:
    """A root-relative directory as ``a/b/`` (``ConfigError`` unless it is one)."""
    if not isinstance(value, str) or not value.strip("/"):
        raise ConfigError(f"{what} must be a directory relative to the root, got {value!r}")
    return _relative(value, what).rstrip("/") + "/"


def _relative(value: str, what: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ConfigError(
            f"{what} {value!r} must be relative to the root, with '/' separators and no '..'"
        )
    return value


@dataclass(frozen=True)
class FileWatch:
    """Watch ``root`` for files whose root-relative path starts with ``prefix`` and ends with
    ``suffix``, for ``action``. ``on_success`` / ``on_dead`` (root-relative directories, or
    None to leave files where they are): where a file goes once its message is acked, or
    dead-lettered (with a ``.reason`` file beside it). A file modified within the last
    ``settle`` seconds is left for a later scan; ``chunk_size`` messages per enqueue."""

    root: Path
    action: str
    prefix: str = "input/"
    suffix: str = ".json"
    on_success: str | None = None
    on_dead: str | None = None
    settle: float = 1.0
    chunk_size: int = 500

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.root, str | os.PathLike):
            raise ConfigError(f"root must be a directory path, got {self.root!r}")
        root = Path(self.root).expanduser().absolute()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"watch root {str(root)!r} cannot be created: {exc}") from None
        set_(self, "root", root)
        if not isinstance(self.prefix, str):
            raise ConfigError(f"prefix must be a string like 'input/', got {self.prefix!r}")
        set_(self, "prefix", _relative(self.prefix, "prefix"))
        if not isinstance(self.suffix, str) or "/" in self.suffix:
            raise ConfigError(
                f"suffix must be a file name ending like '.json', got {self.suffix!r}"
            )
        for name in ("on_success", "on_dead"):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, _relative_dir(value, name))
        if self.on_success is not None and self.on_success == self.on_dead:
            raise ConfigError(f"on_success and on_dead must differ, both are {self.on_success!r}")
        if isinstance(self.settle, bool) or not isinstance(self.settle, int | float):
            raise ConfigError(f"settle must be seconds (a number >= 0), got {self.settle!r}")
        if not self.settle >= 0:
            raise ConfigError(f"settle must be >= 0 seconds, got {self.settle!r}")
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, int):
            raise ConfigError(f"chunk_size must be an integer >= 1, got {self.chunk_size!r}")
        if self.chunk_size < 1:
            raise ConfigError(f"chunk_size must be an integer >= 1, got {self.chunk_size!r}")

    @property
    def excluded(self) -> tuple[str, ...]:
        """Directories never scanned: where files are moved to."""
        return tuple(d for d in (self.on_success, self.on_dead) if d is not None)

    def matches(self, path: str) -> bool:
        """Whether the root-relative ``path`` (``/``-separated) is one this watch takes."""
        return (
            path.startswith(self.prefix)
            and path.endswith(self.suffix)
            and not path.startswith(self.excluded)
        )

    def relative_of(self, body: Any) -> str:
        """The root-relative path a message body names, if it is a file this watch takes;
        ``FileRefused`` naming the path otherwise (a ``root`` in the body must be this
        watch's own: paths are only ever resolved against the configured root)."""
        path = body.get("path") if isinstance(body, dict) else None
        relative = relative_file(path)
        assert isinstance(body, dict)
        if "root" in body and body["root"] != str(self.root):
            raise FileRefused(
                f"file message for {relative!r} names the root {body['root']!r:.200}, not the "
                f"watch's root {str(self.root)!r}: refused"
            )
        if not self.matches(relative):
            raise FileRefused(
                f"file path {relative!r} is not one the watch on {str(self.root)!r} takes "
                f"(prefix {self.prefix!r}, suffix {self.suffix!r}, not under a move target)"
            )
        return relative

    def version_of(self, body: dict[str, Any]) -> tuple[int, int]:
        """The ``(size, mtime_ns)`` a message body names; ``FileRefused`` if it names none."""
        version = body.get("size"), body.get("mtime_ns")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in version):
            raise FileRefused(
                f"file message for {body.get('path')!r:.200} names no version (integer 'size' "
                "and 'mtime_ns'): the file is neither read nor moved"
            )
        return version  # type: ignore[return-value]

    def find(self, body: Any) -> tuple[str, bool | None]:
        """``(path, current)`` of the file a message body names: ``current`` is True if the
        file is there in the version the body names, False if it was rewritten since, None
        if it is gone. ``FileRefused`` for a path the watch does not take, a symlink on the
        way, or (for a file that is there) a body that names no version."""
        relative = self.relative_of(body)
        found = regular_file(self.root, relative)
        if found is None:
            return relative, None
        return relative, (found.st_size, found.st_mtime_ns) == self.version_of(body)

    def path_of(self, body: Any) -> Path:
        """The path of the file a message body names: inside the root, reached through no
        symlink, and still the version the message was made for. ``FileRefused`` (which
        dead-letters the message) otherwise; ``FileNotFoundError`` if the file is gone."""
        relative, current = self.find(body)
        if current is None:
            raise FileNotFoundError(f"file {relative!r} is gone from {str(self.root)!r}")
        if not current:
            raise FileRefused(
                f"file {relative!r} was rewritten after its message was made (size or mtime "
                "differ): its new version has a message of its own"
            )
        return self.root / relative
