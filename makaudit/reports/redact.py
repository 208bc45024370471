"""Keep full product keys out of reports: only the last five characters are ever shown."""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

PARTIAL_KEY_LENGTH = 5

_FULL_PRODUCT_KEY_RE = re.compile(r"\b(?:[A-Z0-9]{5}-){4}([A-Z0-9]{5})\b", re.IGNORECASE)


def partial_key(value: str | None) -> str | None:
    """Return the last five characters of a product key, upper-case; None stays None.

    A longer value means a full key reached the report layer; it is cut to
    its last five characters and a warning is logged without the value.
    """
    if value is None:
        return None
    compact = value.strip().upper()
    if len(compact) > PARTIAL_KEY_LENGTH:
        logger.warning("a product key longer than %d characters reached a report; only its last %d are shown", PARTIAL_KEY_LENGTH, PARTIAL_KEY_LENGTH)
        return compact.replace("-", "")[-PARTIAL_KEY_LENGTH:]
    return compact


def mask_product_keys(text: str | None) -> str | None:
    """Replace every full 25-character product key in ``text`` with ``XXXXX-XXXXX-XXXXX-XXXXX-`` and its last five characters."""
    if not text:
        return text
    masked, count = _FULL_PRODUCT_KEY_RE.subn(r"XXXXX-XXXXX-XXXXX-XXXXX-\1", text)
    if count:
        logger.warning("masked %d full product key(s) in report text", count)
    return masked
