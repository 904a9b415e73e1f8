"""The file-drop source: one message per new or changed file under a root that matches a path
prefix and a name suffix, deduplicated by path + size + mtime.

- :mod:`.watch`: :class:`FileWatch`, what a watch selects, and the confinement of every path a
  message names to the watch's root;
- :mod:`.scanner`: :class:`FileScanner`, which walks the root and enqueues settled files;
- :mod:`.disposal`: what a watched action does around its handler (skip processed files, move
  each file to ``on_success`` / ``on_dead`` once its outcome is committed);
- :mod:`.confine`: path and file operations that never follow a symlink below the root.
"""

from typing import TYPE_CHECKING

from sluice.lazy import lazy_names
from sluice.sources.files.watch import FileWatch as FileWatch

if TYPE_CHECKING:
    from sluice.sources.files.scanner import FileScanner as FileScanner
    from sluice.sources.files.scanner import FileSeen as FileSeen
    from sluice.sources.files.scanner import ScanResult as ScanResult

_SCANNER = "sluice.sources.files.scanner"
# The scanner is imported on first use: a worker imports the watch (a declaration), never scans.
__getattr__ = lazy_names(
    __name__, {"FileScanner": _SCANNER, "FileSeen": _SCANNER, "ScanResult": _SCANNER}
)
