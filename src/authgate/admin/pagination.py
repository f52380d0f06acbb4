"""Page N of the users in username order, as fast on a million users as on a hundred.

`UserService.page` finds page N exactly by walking the username index to
position (N-1)·size: an index-only scan whose cost grows with N (a quarter of
a million entries for page 5,000 of 50). Here every STRIDE-th username is
sampled (one scan of the index; once a minute old, the sample is
retaken in the background while the old one serves), so a page starts from
the nearest anchor and walks fewer than STRIDE index entries, then reads one
keyset page. The sample is held by `accounts.page_anchors.UserPageAnchors`, one per
`Services` (`services.user_page_anchors`).

Pages are exact as of the sample. Users added or removed since shift the
later pages by that many rows until the next sample — as any numbered page
shifts between two requests while the table changes. Keyset cursors (`after`)
are always exact; searches and the first STRIDE rows seek exactly too.
"""

from __future__ import annotations

from collections.abc import Sequence

from authgate.accounts.page_anchors import UserPageAnchors
from authgate.services import Realm
from authgate.storage.models import User

STRIDE = 1000
LAST_PAGE = 1_000_000  # the highest page number asked for (the API and the console refuse more)


def users_page(realm: Realm, anchors: UserPageAnchors, number: int, *, size: int,
               prefix: str | None = None) -> Sequence[User]:
    """Page `number` (1-based) of `UserService.list`."""
    first = (number - 1) * size
    if prefix or first < STRIDE:
        return realm.users.page(number, size=size, prefix=prefix)
    sample = anchors.get(STRIDE)
    block = min(first // sample.stride, len(sample.anchors))
    if block == 0:
        return realm.users.page(number, size=size)
    anchor = sample.anchors[block - 1]
    skip = first - block * sample.stride  # rows between the anchor and the page's first row
    previous = anchor if skip == 0 else realm.users.username_at(skip - 1, after=anchor)
    if previous is None:
        return []
    return realm.users.list(after=previous, limit=size)
