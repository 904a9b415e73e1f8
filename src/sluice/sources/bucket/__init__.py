"""The object-store source: one message per new or changed object in an S3-compatible bucket
whose key starts with a prefix and ends with a suffix, deduplicated by key + etag.

- :mod:`.watch`: :class:`BucketWatch`, what a watch selects, and its S3 client;
- :mod:`.scanner`: :class:`BucketScanner`, which lists the bucket and enqueues new versions;
- :mod:`.notify`: S3 event notifications (``Records[]``) turned into the same messages;
- :mod:`.disposal`: skip objects already processed, copy each to ``on_success`` /
  ``on_dead`` and delete the original once its outcome is committed.
"""

from typing import TYPE_CHECKING

from sluice.lazy import lazy_names
from sluice.sources.bucket.watch import BucketWatch as BucketWatch
from sluice.sources.bucket.watch import ObjectSeen as ObjectSeen

if TYPE_CHECKING:
    from sluice.sources.bucket.scanner import BucketScanner as BucketScanner

_SCANNER = "sluice.sources.bucket.scanner"
# The scanner is imported on first use: a worker imports the watch (a declaration), never scans.
__getattr__ = lazy_names(__name__, {"BucketScanner": _SCANNER})
