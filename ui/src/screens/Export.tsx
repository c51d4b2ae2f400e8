/** Export: the catalogue's sightings as CSV, or a Kaggle submission file. */
import { useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { ExportResult } from "../bindings/ExportResult";
import { ErrorLine } from "../components/ErrorLine";
import { PathField } from "../components/PathField";
import { exportCsv, exportKaggle, pickSaveFile, toAppError } from "../ipc";
import { plural } from "../lib/format";

export function ExportScreen() {
  const [path, setPath] = useState("");
  const [result, setResult] = useState<{ kind: string; r: ExportResult } | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (kind: "CSV" | "Kaggle submission", f: (p: string) => Promise<ExportResult>, suggested: string) => {
    setError(null);
    setResult(null);
    let p = path.trim();
    try {
      if (!p) {
        // No path typed: ask where, as a save dialog would.
        const chosen = await pickSaveFile(suggested);
        if (!chosen) return;
        setPath(chosen);
        p = chosen;
      }
      setBusy(true);
      setResult({ kind, r: await f(p) });
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="export">
      <h1>Export</h1>
      <div class="panel">
        <PathField
          label="Save to"
          value={path}
          onInput={setPath}
          inputTestId="export-path"
          pickTestId="export-pick"
          pick={{ save: "whaleid-export.csv" }}
          onError={setError}
          placeholder="/home/me/whales/export.csv"
        />
        <div class="row">
          <button type="button" class="primary" data-testid="export-csv" disabled={busy} onClick={() => run("CSV", exportCsv, "whaleid-export.csv")}>
            Export CSV
          </button>
          <button
            type="button"
            data-testid="export-kaggle"
            disabled={busy}
            onClick={() => run("Kaggle submission", exportKaggle, "submission.csv")}
          >
            Export Kaggle submission
          </button>
        </div>
        <p class="muted">With no path, each button asks where to save.</p>
        <ErrorLine error={error} />
        {result && (
          <p class="result" data-testid="export-result">
            {result.kind}: wrote {plural(result.r.rows, "row")} to <span class="path">{result.r.path}</span>
          </p>
        )}
      </div>
    </section>
  );
}
