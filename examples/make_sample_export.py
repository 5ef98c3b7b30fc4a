"""Write the sample export and its ontology, built offline with the real Encord SDK.

    python examples/make_sample_export.py [OUTDIR]      (default: examples/)

Writes OUTDIR/sample_export.json — a JSON array of ``LabelRowV2.to_encord_dict()`` dicts, as the
docs' "Export labels as JSON" script writes it — and OUTDIR/ontology.json
(``OntologyStructure.to_dict()``). Hashes and timestamps are fixed, so re-running gives the same
files byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.sdk_sample import build_ontology, sample_export  # noqa: E402


def write_json(path: Path, payload: Any) -> None:
    with path.open("w", encoding="utf-8") as file:
        json.dump(payload, file, indent=1)
        file.write("\n")


def main(argv: List[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    ontology = build_ontology()
    write_json(out_dir / "ontology.json", ontology.to_dict())
    rows = sample_export(ontology=ontology)
    write_json(out_dir / "sample_export.json", rows)
    print(f"wrote {len(rows)} label rows to {out_dir / 'sample_export.json'} and {out_dir / 'ontology.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
