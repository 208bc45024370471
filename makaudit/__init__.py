"""makaudit: audit Windows and Office volume activation (MAK, KMS) across a fleet."""

__version__ = "0.1.0"
