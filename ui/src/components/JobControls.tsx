/**
 * Cancel and Clear for a job (import, training, sync): Cancel while it runs
 * (once its id is known, and once only), Clear after it has ended.
 */
export function JobControls(p: {
  phase: string;
  jobId: number | null;
  active: boolean;
  onCancel: () => Promise<void>;
  onClear: () => void;
  /** The Cancel button's test id. */
  cancelTestId: string;
}) {
  return (
    <>
      <button
        type="button"
        data-testid={p.cancelTestId}
        disabled={!p.active || p.phase === "cancelling" || p.jobId == null}
        onClick={() => void p.onCancel()}
      >
        {p.phase === "cancelling" ? "Cancelling…" : "Cancel"}
      </button>
      {!p.active && p.phase !== "idle" && (
        <button type="button" class="link" onClick={p.onClear}>
          Clear
        </button>
      )}
    </>
  );
}

/** What a job's progress line says in each phase; `running` while it runs. */
export function jobLabel(phase: string, running: string): string {
  switch (phase) {
    case "starting":
      return "Starting…";
    case "running":
      return running;
    case "cancelling":
      return "Cancelling…";
    case "finished":
      return "Done";
    case "cancelled":
      return "Cancelled";
    case "failed":
      return "Failed";
    default:
      return "";
  }
}
