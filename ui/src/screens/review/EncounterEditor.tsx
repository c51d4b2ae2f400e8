/**
 * The encounter record of the photo under review (issue 16): a button that
 * opens a form of its fields (times, place, position, observers, vessel or
 * platform, group size best/min/max, behaviour, notes, survey), saved
 * through `encounter_edit` with only the fields changed, so an edit made
 * meanwhile on another laptop to another field is not overwritten. Split
 * (photos at or after a time go to a new encounter with the fields copied)
 * and join (other encounters, by number, into this one) sit under it. The
 * engine checks every value (group min <= best <= max, position in range,
 * real times) and a refusal is shown as it says it, nothing saved.
 */
import { useEffect, useState } from "preact/hooks";
import type { AppError } from "../../bindings/AppError";
import type { EncounterChange } from "../../bindings/EncounterChange";
import type { EncounterView } from "../../bindings/EncounterView";
import { ErrorLine } from "../../components/ErrorLine";
import { encounterEdit, encounterGet, encounterJoin, encounterSplit, toAppError } from "../../ipc";

/** The form's boxes: the field name `encounter_edit` takes, its label and test id. */
const FIELDS = [
  { field: "start", label: "Start", testId: "encounter-start", placeholder: "YYYY-MM-DD HH:MM" },
  { field: "end", label: "End", testId: "encounter-end", placeholder: "YYYY-MM-DD HH:MM" },
  { field: "place", label: "Place", testId: "encounter-place", placeholder: "Place name" },
  { field: "position", label: "Position", testId: "encounter-position", placeholder: "lat, lon" },
  { field: "observers", label: "Observers", testId: "encounter-observers", placeholder: "Ana Silva; Ben Cole" },
  { field: "vessel", label: "Vessel / platform", testId: "encounter-vessel", placeholder: "" },
  { field: "groupBest", label: "Group best", testId: "encounter-group-best", placeholder: "" },
  { field: "groupMin", label: "Group min", testId: "encounter-group-min", placeholder: "" },
  { field: "groupMax", label: "Group max", testId: "encounter-group-max", placeholder: "" },
  { field: "behaviour", label: "Behaviour", testId: "encounter-behaviour", placeholder: "" },
  { field: "survey", label: "Survey", testId: "encounter-survey", placeholder: "" },
  { field: "notes", label: "Notes", testId: "encounter-notes", placeholder: "" },
] as const;

type FieldName = (typeof FIELDS)[number]["field"];
type Values = Record<FieldName, string>;

/** An encounter's fields as the form's text. */
export function formValues(e: EncounterView): Values {
  const n = (v: number | null) => (v == null ? "" : String(v));
  return {
    start: e.startedAt ?? "",
    end: e.endedAt ?? "",
    place: e.place ?? "",
    position: e.latitude != null && e.longitude != null ? `${e.latitude}, ${e.longitude}` : "",
    observers: e.observers.join("; "),
    vessel: e.vessel ?? "",
    groupBest: n(e.groupBest),
    groupMin: n(e.groupMin),
    groupMax: n(e.groupMax),
    behaviour: e.behaviour ?? "",
    survey: e.survey ?? "",
    notes: e.notes ?? "",
  };
}

/** The fields whose text changed, as `encounter_edit` takes them (blank clears). */
export function changesOf(before: Values, after: Values): EncounterChange[] {
  return FIELDS.filter(({ field }) => before[field].trim() !== after[field].trim()).map(({ field }) => ({
    field,
    value: after[field].trim() === "" ? null : after[field],
  }));
}

type Props = {
  /** The encounter of the photo under review; none disables the button. */
  encounterId: number | null;
  /** Called after a save, split or join (the queue's encounter labels may change). */
  onChanged?: () => void;
  disabled?: boolean;
};

export function EncounterEditor({ encounterId, onChanged, disabled }: Props) {
  const [open, setOpen] = useState(false);
  const [shown, setShown] = useState<EncounterView | null>(null);
  const [values, setValues] = useState<Values | null>(null);
  const [splitAt, setSplitAt] = useState("");
  const [joinIds, setJoinIds] = useState("");
  const [status, setStatus] = useState("");
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (e: EncounterView) => {
    setShown(e);
    setValues(formValues(e));
  };

  // Another photo's encounter: the form follows it (or closes without one).
  useEffect(() => {
    setError(null);
    setStatus("");
    if (!open || encounterId == null) {
      setShown(null);
      setValues(null);
      if (encounterId == null) setOpen(false);
      return;
    }
    let live = true;
    encounterGet(encounterId).then(
      (e) => live && show(e),
      (e) => live && setError(toAppError(e)),
    );
    return () => {
      live = false;
    };
  }, [open, encounterId]);

  const run = async (what: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setStatus("");
    try {
      await what();
      onChanged?.();
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  const save = () =>
    run(async () => {
      if (!shown || !values) return;
      const changes = changesOf(formValues(shown), values);
      if (changes.length === 0) {
        setStatus("Nothing changed");
        return;
      }
      show(await encounterEdit(shown.id, changes));
      setStatus(`Saved ${changes.length} field${changes.length === 1 ? "" : "s"}`);
    });

  const split = () =>
    run(async () => {
      if (!shown) return;
      const made = await encounterSplit(shown.id, splitAt.trim(), null);
      show(await encounterGet(shown.id));
      setSplitAt("");
      setStatus(`Split: ${made.photoIds.length} photo(s) moved to encounter #${made.id}`);
    });

  const join = () =>
    run(async () => {
      if (!shown) return;
      const others = joinIds
        .split(/[\s,]+/)
        .map((t) => t.replace(/^#/, ""))
        .filter((t) => t !== "")
        .map(Number);
      if (others.length === 0 || others.some((n) => !Number.isInteger(n))) {
        throw { kind: "invalid", message: `give encounter numbers to join, such as "12, 13" (not "${joinIds}")` };
      }
      show(await encounterJoin(shown.id, others));
      setJoinIds("");
      setStatus(`Joined ${others.map((n) => `#${n}`).join(", ")} into #${shown.id}`);
    });

  return (
    <div class="encounter-editor">
      <button
        type="button"
        data-testid="encounter-edit"
        disabled={disabled || encounterId == null}
        title={encounterId == null ? "This photo is in no encounter" : "Edit this photo's encounter record"}
        onClick={() => setOpen((o) => !o)}
      >
        {encounterId == null ? "No encounter" : `Encounter #${encounterId}`}
      </button>
      {open && (
        <form
          class="encounter-form"
          data-testid="encounter-form"
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
        >
          {!values && !error && <p class="muted">Loading encounter…</p>}
          {values && shown && (
            <>
              <p class="muted" data-testid="encounter-photos">
                {shown.photoIds.length} photo{shown.photoIds.length === 1 ? "" : "s"}
                {shown.joinedInto != null ? ` · joined into #${shown.joinedInto}` : ""}
              </p>
              <div class="encounter-fields">
                {FIELDS.map(({ field, label, testId, placeholder }) => {
                  const by = shown.edits.find((x) => x.field === editedAs(field));
                  const input = {
                    id: testId,
                    "data-testid": testId,
                    value: values[field],
                    placeholder,
                    disabled: busy,
                    onInput: (e: Event) =>
                      setValues({ ...values, [field]: (e.currentTarget as HTMLInputElement).value }),
                  };
                  return (
                    <label key={field} for={testId} title={by?.by ? `set by ${by.by} at ${by.at}` : undefined}>
                      {label}
                      {field === "notes" ? <textarea rows={2} {...input} /> : <input type="text" {...input} />}
                    </label>
                  );
                })}
              </div>
              <div class="actions">
                <button type="submit" data-testid="encounter-save" disabled={busy}>
                  Save
                </button>
                <button type="button" data-testid="encounter-close" onClick={() => setOpen(false)}>
                  Close
                </button>
              </div>
              <div class="actions">
                <input
                  type="text"
                  data-testid="encounter-split-at"
                  placeholder="Split at YYYY-MM-DD HH:MM"
                  value={splitAt}
                  disabled={busy}
                  onInput={(e) => setSplitAt((e.currentTarget as HTMLInputElement).value)}
                />
                <button type="button" data-testid="encounter-split" disabled={busy || splitAt.trim() === ""} onClick={split}>
                  Split
                </button>
                <input
                  type="text"
                  data-testid="encounter-join-ids"
                  placeholder="Join encounters: 12, 13"
                  value={joinIds}
                  disabled={busy}
                  onInput={(e) => setJoinIds((e.currentTarget as HTMLInputElement).value)}
                />
                <button type="button" data-testid="encounter-join" disabled={busy || joinIds.trim() === ""} onClick={join}>
                  Join into this
                </button>
              </div>
            </>
          )}
          {status && (
            <p class="muted" role="status" data-testid="encounter-status">
              {status}
            </p>
          )}
          <ErrorLine error={error} testId="encounter-error" />
        </form>
      )}
    </div>
  );
}

/** The synced field a form box sets (who set it is kept per synced field). */
function editedAs(field: FieldName): string {
  switch (field) {
    case "start":
      return "started_at";
    case "end":
      return "ended_at";
    case "groupBest":
    case "groupMin":
    case "groupMax":
      return "group";
    default:
      return field;
  }
}
