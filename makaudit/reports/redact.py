"""Keep full product keys out of reports: only the last five characters are ever shown.

Detection and masking come from :mod:`makaudit.productkey`, so reports mask
every key form the rest of makaudit rejects.
"""

from __future__ import annotations

import logging

from makaudit.productkey import PARTIAL_KEY_LENGTH, find_full_keys, last_five, mask_full_keys

logger = logging.getLogger(__name__)

__all__ = ["PARTIAL_KEY_LENGTH", "mask_product_keys", "partial_key"]


def partial_key(value: str | None) -> str | None:
    """Return the last five characters of a product key, upper-case; None stays None.

    A longer value means a full key reached the report layer; it is cut to
    its last five letters or digits and a warning is logged without the value.
    """
    if value is None:
        return None
    compact = value.strip().upper()
    if len(compact) > PARTIAL_KEY_LENGTH:
        logger.warning(
            "a product key longer than %d characters reached a report; only its last %d are shown",
            PARTIAL_KEY_LENGTH,
            PARTIAL_KEY_LENGTH,
        )
        return last_five(compact)
    return compact


def mask_product_keys(text: str | None) -> str | None:
    """Replace every full 25-character product key in ``text`` with ``XXXXX-XXXXX-XXXXX-XXXXX-`` and its last five characters."""
    if not text:
        return text
    count = len(find_full_keys(text))
    if not count:
        return text
    logger.warning("masked %d full product key(s) in report text", count)
    return mask_full_keys(text)
