"""Map what inventory and automation tools export about licenses to WMI property names.

These are derived formats, not Windows output: Ansible ``win_product_facts``,
GLPI Agent JSON (``licenseinfos``), FusionInventory XML (``<LICENSEINFOS>``).
They carry the Name and Description of SoftwareLicensingProduct, sometimes the
partial key padded to 25 characters, and mostly no license status.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from typing import Any, Iterator, Mapping

from makaudit.errors import ParseError
from makaudit.parsing.text import is_masked

_ANSIBLE_LINE = re.compile(r"^(?P<host>\S+)\s*\|\s*(?P<result>[A-Z]+)\s*=>\s*(?P<json>\{.*)$", re.S | re.M)
_XML_FORBIDDEN = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.I)
_MAX_XML_BYTES = 20_000_000


def partial_from_padded_key(value: Any) -> str | None:
    """Return the last five characters of ``XXXXX-XXXXX-XXXXX-XXXXX-J46MR``; None for anything else.

    Inventory agents pad PartialProductKey into this shape. A value that is
    not five groups of five with the first four masked (a placeholder, or a
    real full key) yields None, so a full key is never kept.
    """
    if not isinstance(value, str):
        return None
    groups = value.strip().split("-")
    if len(groups) != 5 or any(len(group) != 5 for group in groups):
        return None
    if not all(is_masked(group) for group in groups[:4]) or is_masked(groups[4]):
        return None
    return groups[4].upper()


def license_info_product(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """Map one GLPI or FusionInventory license entry (fullname, name, key) to WMI properties, else None."""
    lowered = {str(key).lower(): value for key, value in values.items()}
    if "fullname" not in lowered or "name" not in lowered:
        return None
    product: dict[str, Any] = {"Name": lowered.get("name"), "Description": lowered.get("fullname")}
    partial = partial_from_padded_key(lowered.get("key"))
    if partial is not None:
        product["PartialProductKey"] = partial
    return product


def ansible_products(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Map the ``ansible_os_license_*`` facts to WMI products; the facts are lists when several products exist.

    ``ansible_os_product_key`` is left out on purpose: the module decodes it
    from the registry, which need not be the installed key.
    """
    editions = _as_list(facts.get("ansible_os_license_edition"))
    channels = _as_list(facts.get("ansible_os_license_channel"))
    statuses = _as_list(facts.get("ansible_os_license_status"))
    products = []
    for index, edition in enumerate(editions):
        products.append(
            {
                "Name": edition,
                "ProductKeyChannel": channels[index] if index < len(channels) else None,
                "LicenseStatus": statuses[index] if index < len(statuses) else None,
            }
        )
    return products


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def split_ansible_output(text: str) -> Iterator[tuple[str, Any]]:
    """Yield (inventory host, decoded JSON) for every ``host | SUCCESS => {...}`` result in ``text``."""
    starts = list(_ANSIBLE_LINE.finditer(text))
    decoder = json.JSONDecoder()
    for match in starts:
        try:
            value, _end = decoder.raw_decode(match.group("json"))
        except ValueError:
            continue
        yield match.group("host"), value


def looks_like_ansible(text: str) -> bool:
    return _ANSIBLE_LINE.search(text) is not None and "ansible_facts" in text


def looks_like_license_xml(text: str) -> bool:
    return "<LICENSEINFOS" in text.upper()


def parse_license_xml(text: str, source: str) -> list[dict[str, Any]]:
    """Return the WMI-shaped products of every ``<LICENSEINFOS>`` element of an XML inventory or excerpt."""
    if _XML_FORBIDDEN.search(text):
        raise ParseError(source, "XML without a DOCTYPE or entity declarations", detail="inventory XML never needs one")
    if len(text) > _MAX_XML_BYTES:
        raise ParseError(source, f"an XML inventory below {_MAX_XML_BYTES} characters")

    body = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    try:
        root = ElementTree.fromstring(f"<makaudit-root>{body}</makaudit-root>")
    except ElementTree.ParseError as error:
        raise ParseError(source, "well-formed XML with <LICENSEINFOS> elements", detail=str(error)) from None

    products = []
    for element in root.iter():
        if element.tag.upper() != "LICENSEINFOS":
            continue
        values = {child.tag: (child.text or "").strip() for child in element}
        product = license_info_product(values)
        if product is not None:
            products.append(product)
    return products
