"""The detector: pure code, text in and findings out; no network, disk, Flask or PyGithub."""

from bot.core.detector.findings import ERROR, INFO, WARNING, Finding, Report
from bot.core.detector.scanner import Scanner, scan_files

__all__ = ["ERROR", "INFO", "WARNING", "Finding", "Report", "Scanner", "scan_files"]
