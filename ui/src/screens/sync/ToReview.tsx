import { useState } from "preact/hooks";
import type { AppError } from "../../bindings/AppError";
import type { SyncReviewItem } from "../../bindings/SyncReviewItem";
import type { SyncStatus } from "../../bindings/SyncStatus";
import { ErrorLine } from "../../components/ErrorLine";
import { individualMerge, syncDismiss, syncStatus, toAppError } from "../../ipc";
import { formatTaken } from "../../lib/format";
import { CONFLICT_KINDS } from "./Report";

/**
 * What syncs left for a person: conflicts the merge rules settled one way,
 * and individuals that look like one animal named twice. They stay until
 * dismissed; a duplicate can be merged from here (the first into the second),
 * after which it leaves the list by itself.
 */
export function ToReview({ items, onStatus }: { items: SyncReviewItem[]; onStatus: (s: SyncStatus) => void }) {
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const act = async (id: number, f: () => Promise<SyncStatus>) => {
    setBusy(id);
    setError(null);
    try {
      onStatus(await f());
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(null);
    }
  };
  const merge = (item: SyncReviewItem) => async () => {
    await individualMerge(item.individualId as number, item.otherId as number);
    return syncStatus();
  };
  return (
    <div class="panel" data-testid="sync-review">
      <h2>To review ({items.length})</h2>
      {items.length === 0 ? (
        <p class="muted" data-testid="sync-review-empty">
          Nothing from earlier syncs waits for you.
        </p>
      ) : (
        <ul class="problems sync-list">
          {items.map((item) => (
            <li key={item.id} data-testid="review-item" data-kind={item.kind}>
              <span class="tag">{CONFLICT_KINDS[item.kind] ?? item.kind}</span>
              <span class="reason">{item.detail}</span>
              <span class="muted">found {formatTaken(item.foundAt)} UTC</span>
              <span class="row">
                {item.kind === "duplicate" && item.individualId != null && item.otherId != null && (
                  <button
                    type="button"
                    data-testid="review-merge"
                    disabled={busy != null}
                    onClick={() => void act(item.id, merge(item))}
                  >
                    Merge them
                  </button>
                )}
                <button
                  type="button"
                  class="link"
                  data-testid="review-dismiss"
                  disabled={busy != null}
                  onClick={() => void act(item.id, () => syncDismiss(item.id))}
                >
                  Dismiss
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      <ErrorLine error={error} testId="sync-review-error" />
    </div>
  );
}
