"""Parsers that turn what Windows machines print into typed endpoint states.

``parse_file`` and ``parse_bytes`` recognise the format from the content; the
format-specific parsers are exported for callers that already know it.
"""

from makaudit.parsing.cim_json import parse_json_dump, parse_json_text
from makaudit.parsing.detect import parse_bytes, parse_file
from makaudit.parsing.endpoint import parse_endpoint_document
from makaudit.parsing.listview import parse_list_view
from makaudit.parsing.ospp import parse_ospp_text
from makaudit.parsing.slmgr import parse_slmgr_text
from makaudit.parsing.text import decode_text

__all__ = [
    "decode_text",
    "parse_bytes",
    "parse_endpoint_document",
    "parse_file",
    "parse_json_dump",
    "parse_json_text",
    "parse_list_view",
    "parse_ospp_text",
    "parse_slmgr_text",
]
