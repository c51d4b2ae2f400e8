//! python-dwca-reader, the reader GBIF's and OBIS's users open Darwin Core
//! Archives with, for tests that read an exported archive back with a real
//! reader rather than the writer's own parser. `scripts/setup-python.sh`
//! installs it in the workspace's `.venv`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Prints the archive's occurrence records as JSON (`[{term: value}]`, Darwin
/// Core terms without their namespace, `id` the core id), after checking
/// that every OBIS required field is present and non-empty in each.
const RECORDS: &str = r#"
import json, sys
from dwca.read import DwCAReader

DWC = "http://rs.tdwg.org/dwc/terms/"
REQUIRED = ["occurrenceID", "eventDate", "decimalLatitude", "decimalLongitude",
            "scientificName", "occurrenceStatus", "basisOfRecord"]
with DwCAReader(sys.argv[1]) as archive:
    assert archive.descriptor.core.type == DWC + "Occurrence", archive.descriptor.core.type
    records = []
    for row in archive:
        for term in REQUIRED:
            assert row.data.get(DWC + term, "") != "", (term, row.id, row.data)
        records.append({"id": row.id, **{k[len(DWC):]: v for k, v in row.data.items()
                                        if k.startswith(DWC)}})
    print(json.dumps(records))
"#;

/// A Python with python-dwca-reader: `WHALEID_TEST_PYTHON`, else the
/// workspace's `.venv/bin/python`. Panics saying how to install it when
/// there is none: a missing reader fails a test, never skips it.
pub fn dwca_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let candidates = std::env::var_os("WHALEID_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv]);
    for py in candidates {
        let ok = Command::new(&py)
            .args(["-c", "import dwca"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return py;
        }
    }
    panic!(
        "python-dwca-reader is not installed: run scripts/setup-python.sh (or scripts/setup.sh), \
         which puts it in .venv, or set WHALEID_TEST_PYTHON to a Python that has it \
         (pip install python-dwca-reader)"
    );
}

/// The occurrence records of the archive at `zip` as python-dwca-reader
/// reads them, as JSON text (see [`RECORDS`]); panics with the reader's
/// complaint if it refuses the archive or a record lacks an OBIS field.
pub fn dwca_records(zip: &Path) -> String {
    let out = Command::new(dwca_python())
        .arg("-c")
        .arg(RECORDS)
        .arg(zip)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python-dwca-reader refused {}: {}",
        zip.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("JSON is UTF-8")
}
