/**
 * Asks once for the observer name: the name recorded on every decision,
 * merge, split, import and sync made in the app. Shown by the shell when
 * `observerGet` finds none; "Later" puts it off until the next start.
 * Settings and the Sync screen change the same name afterwards.
 */
import { useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import { observerSet, toAppError } from "../ipc";
import { ErrorLine } from "./ErrorLine";

type Props = {
  onSaved: (name: string) => void;
  onLater: () => void;
};

export function ObserverPrompt({ onSaved, onLater }: Props) {
  const [name, setName] = useState("");
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async () => {
    if (!name.trim()) {
      setError({ kind: "invalid", message: "type your name: it is recorded on each decision you make" });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSaved(await observerSet(name));
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="modal-backdrop">
      <div class="panel modal" role="dialog" aria-modal="true" aria-labelledby="observer-title" data-testid="observer-prompt">
        <h2 id="observer-title">Who is identifying?</h2>
        <p>
          Your name is recorded on every decision, merge, split, import and sync you make here, so the team can tell who
          did what. You can change it later in Settings.
        </p>
        <input
          type="text"
          data-testid="observer-name"
          placeholder="Your name"
          maxLength={200}
          value={name}
          autoFocus
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") void save();
            if (e.key === "Escape") onLater();
          }}
        />
        <ErrorLine error={error} testId="observer-error" />
        <div class="row">
          <button type="button" class="primary" data-testid="observer-save" disabled={busy} onClick={() => void save()}>
            Save
          </button>
          <button type="button" class="link" data-testid="observer-later" onClick={onLater}>
            Later
          </button>
        </div>
      </div>
    </div>
  );
}
