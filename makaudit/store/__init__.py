"""The scan history database (SQLAlchemy Core; SQLite by default): every scan, every host result, and trends."""

from makaudit.store.document import history_document
from makaudit.store.records import HostHistoryEntry, ScanKind, ScanRow, ScanStatus
from makaudit.store.store import HistoryStore, default_db_path, normalize_partial_key

__all__ = [
    "HistoryStore",
    "HostHistoryEntry",
    "ScanKind",
    "ScanRow",
    "ScanStatus",
    "default_db_path",
    "history_document",
    "normalize_partial_key",
]
