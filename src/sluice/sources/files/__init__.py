"""The file-drop source: one message per new or changed file under a root that matches a path
prefix and a name suffix, deduplicated by path + size + mtime.

- :mod:`.watch`: :class:`FileWatch`, what a watch selects, and the confinement of every path a
  message names to the watch's root;
- :mod:`.scanner`: :class:`FileScanner`, which walks the root and enqueues settled files;
- :mod:`.disposal`: what a watched action does around its handler (skip processed files, move
  each file to ``on_success`` / ``on_dead`` once its outcome is committed);
- :mod:`.confine`: path and file operations that never follow a symlink below the root.
"""

from sluice.sources.files.scanner import FileScanner as FileScanner
from sluice.sources.files.scanner import FileSeen as FileSeen
from sluice.sources.files.scanner import ScanResult as ScanResult
from sluice.sources.files.watch import FileWatch as FileWatch
