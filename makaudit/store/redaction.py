"""Keep secrets and full product keys out of the history database.

Scan parameters lose every entry whose name contains password, secret, token
or credential, and a value that contains a full 25-character product key is
rejected. Text from endpoints (documents, messages) keeps only the last five
characters of each full key. :mod:`makaudit.productkey` decides what a full key is.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from pathlib import PurePath
from typing import Any, Mapping

from makaudit.errors import StoreError
from makaudit.model import format_utc
from makaudit.productkey import contains_full_key, mask_full_keys

SECRET_NAME_PARTS = ("password", "secret", "token", "credential")

def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def contains_full_product_key(text: str) -> bool:
    """Tell whether ``text`` contains a full product key in any form makaudit detects."""
    return contains_full_key(text)


def mask_full_product_keys(text: str) -> str:
    """Replace every full product key in ``text`` with ``XXXXX-XXXXX-XXXXX-XXXXX-`` and its last five characters.

    Rows stored before this masking used ``*****-*****-*****-*****-`` instead, which is not a key either.
    """
    return mask_full_keys(text)


def sanitize_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Return a JSON-ready copy of scan parameters without secret entries.

    Nested mappings and sequences are cleaned the same way. Paths, enums and
    datetimes become strings. Raises StoreError when a value looks like a full
    product key, naming the parameter but never the value.
    """
    return _clean_mapping(parameters, "parameters")


def _clean_value(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return _clean_mapping(value, where)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_clean_value(item, f"{where}[{index}]") for index, item in enumerate(items)]
    if isinstance(value, enum.Enum):
        return _clean_value(value.value, where)
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, str):
        if contains_full_product_key(value):
            raise StoreError(
                f"scan parameter {where} contains what looks like a full 25-character product key; "
                "the history database stores only the last five characters of a key: remove it from the parameters"
            )
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise StoreError(
        f"scan parameter {where} has the type {type(value).__name__}, which cannot be stored as JSON: "
        "pass a string, number, boolean, list or mapping"
    )


def _clean_mapping(mapping: Mapping[Any, Any], where: str) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, item in mapping.items():
        name = str(key)
        if is_secret_name(name):
            continue
        cleaned[name] = _clean_value(item, f"{where}.{name}")
    return cleaned


def dumps_parameters(parameters: Mapping[str, Any]) -> str:
    """Return the sanitized parameters as compact JSON text."""
    return json.dumps(sanitize_parameters(parameters), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
