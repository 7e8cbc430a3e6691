"""Shared fixtures: the corpus, a scan of a directory, the SARIF schema."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from bot.detector import Report, Scanner
from bot.localtree import scan_root

TESTS = Path(__file__).parent
CORPUS = TESTS / "corpus"
CACHE = TESTS / ".cache"
SARIF_PACKAGE = "@microsoft/jest-sarif@1.0.0-beta.0"  # ships Microsoft's SARIF 2.1.0 schema
SARIF_MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"


def scan_dir(root: Path, **options) -> Report:
    scanner = Scanner(**options)
    scan_root(scanner, root)
    return scanner.finish()


@pytest.fixture(scope="session")
def sarif_schema() -> dict:
    """The SARIF 2.1.0 JSON schema, from the npm registry once, then from the cache."""
    cached = CACHE / "sarif-2.1.0-rtm.5.json"
    if not cached.exists():
        CACHE.mkdir(exist_ok=True)
        tarball = subprocess.run(
            ["npm", "pack", SARIF_PACKAGE, "--pack-destination", str(CACHE), "--json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        name = json.loads(tarball.stdout)[0]["filename"]
        with tarfile.open(CACHE / name) as archive:
            member = archive.extractfile(SARIF_MEMBER)
            assert member is not None
            cached.write_bytes(io.BytesIO(member.read()).getvalue())
    return json.loads(cached.read_text("utf-8"))
