import { useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { CatalogueInfo } from "../bindings/CatalogueInfo";
import { catalogueCreate, catalogueOpen, toAppError } from "../ipc";
import { ErrorLine } from "../components/ErrorLine";
import { PathField } from "../components/PathField";

/** No catalogue open: create one in a new folder or open an existing one. */
export function Welcome({ onOpened, onCancel }: { onOpened: (c: CatalogueInfo) => void; onCancel?: () => void }) {
  const [path, setPath] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  const run = async (f: (p: string) => Promise<CatalogueInfo>) => {
    const p = path.trim();
    if (!p) {
      setError({ kind: "invalid", message: "type or choose a folder first" });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onOpened(await f(p));
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="welcome panel">
      <h1>Open a catalogue</h1>
      <p class="muted">
        A catalogue is a folder holding the database of individuals, their crops and thumbnails. Create a new one in
        an empty folder, or open one you already have.
      </p>
      <PathField
        label="Catalogue folder"
        value={path}
        onInput={setPath}
        onSubmit={() => run(catalogueOpen)}
        inputTestId="catalogue-path"
        pickTestId="pick-catalogue"
        pick="folder"
        onError={setError}
        placeholder="/home/me/whales/catalogue"
      />
      <div class="row">
        <button type="button" class="primary" data-testid="open-catalogue" disabled={busy} onClick={() => run(catalogueOpen)}>
          Open
        </button>
        <button type="button" data-testid="create-catalogue" disabled={busy} onClick={() => run(catalogueCreate)}>
          Create new
        </button>
        {onCancel && (
          <button type="button" class="link" onClick={onCancel}>
            Back to the open catalogue
          </button>
        )}
      </div>
      {/* The message names the folder and says what is wrong with it; "Catalogue:" before it would say it twice. */}
      <ErrorLine error={error} testId="welcome-error" labels={{ catalogue: "Cannot use this folder" }} />
    </section>
  );
}
