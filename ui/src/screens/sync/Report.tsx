import type { SyncConflict } from "../../bindings/SyncConflict";
import type { SyncPreview } from "../../bindings/SyncPreview";
import type { SyncRefusal } from "../../bindings/SyncRefusal";
import type { SyncSummary } from "../../bindings/SyncSummary";

export const CONFLICT_KINDS: Record<string, string> = {
  decisions: "Different decisions",
  codeClash: "Code clash",
  duplicate: "Possible duplicate",
  declined: "Not applied here",
};

/** The plan: what a sync would do, before anything is applied. */
export function PreviewView({ p }: { p: SyncPreview }) {
  return (
    <div class="sync-plan" data-testid="sync-plan">
      <h3>What a sync would do</h3>
      <dl class="stats">
        <Stat label="To push" value={p.toPush} testId="plan-push" />
        <Stat label="To pull" value={p.more ? `${p.toPull}+` : p.toPull} testId="plan-pull" />
        <Stat label="Additions" value={p.additions} testId="plan-additions" />
        <Stat label="Decisions" value={p.decisions} testId="plan-decisions" />
        <Stat label="Merges" value={p.merges} testId="plan-merges" />
        <Stat label="Already here" value={p.alreadyHere} testId="plan-already" />
        <Stat label="Refused" value={p.refused} testId="plan-refused" warn={p.refused > 0} />
      </dl>
      {p.more && (
        <p class="hint" data-testid="plan-more">
          More waits on the server than the preview looked at; the sync pulls all of it.
        </p>
      )}
      <p class="muted">
        Additions are new photos, detections and individuals; “already here” are received records this catalogue has
        (the same photo imported twice).
      </p>
      <Conflicts conflicts={p.conflicts} testId="plan-conflicts" title="Conflicts to review after syncing" />
    </div>
  );
}

/** What a finished sync did, then what a person should look at. */
export function SummaryView({ s }: { s: SyncSummary }) {
  return (
    <div class="sync-summary" data-testid="sync-summary">
      <p class="result">Synced.</p>
      <dl class="stats">
        <Stat label="Pushed" value={s.pushed} testId="summary-pushed" />
        <Stat label="Pulled" value={s.pulled} testId="summary-pulled" />
        <Stat label="Changes applied here" value={s.applied} testId="summary-applied" />
        <Stat label="Server position" value={s.position} testId="summary-position" />
      </dl>
      {s.photosSent + s.photosFetched + s.photosWaiting + s.photosSkipped.length > 0 && (
        <p data-testid="summary-photos">
          Original photos: {s.photosSent} sent, {s.photosFetched} fetched
          {s.photosWaiting > 0 && `, ${s.photosWaiting} not on the server yet (fetched by a later sync)`}.
        </p>
      )}
      {s.photosSkipped.length > 0 && (
        <ul class="problems sync-list" data-testid="summary-photos-skipped">
          {s.photosSkipped.map((why, i) => (
            <li key={i}>
              <span class="reason">Not sent: {why}</span>
            </li>
          ))}
        </ul>
      )}
      <Refusals refused={s.refused} />
      <Conflicts conflicts={s.conflicts} testId="summary-conflicts" title="Conflicts to review" />
    </div>
  );
}

function Refusals({ refused }: { refused: SyncRefusal[] }) {
  if (refused.length === 0) return null;
  return (
    <>
      <h3>Refused by the server ({refused.length})</h3>
      <p class="muted">These changes stay here and are sent again at the next sync.</p>
      <ul class="problems sync-list" data-testid="summary-refused">
        {refused.map((r, i) => (
          <li key={i} data-testid="refusal">
            <span class="op">{r.op}</span>
            <span class="reason">{r.reason}</span>
          </li>
        ))}
      </ul>
    </>
  );
}

function Conflicts({ conflicts, testId, title }: { conflicts: SyncConflict[]; testId: string; title: string }) {
  if (conflicts.length === 0) {
    return (
      <p class="muted" data-testid={testId}>
        No conflicts.
      </p>
    );
  }
  return (
    <>
      <h3>
        {title} ({conflicts.length})
      </h3>
      <ul class="problems sync-list" data-testid={testId}>
        {conflicts.map((c, i) => (
          <li key={i} data-testid="conflict" data-kind={c.kind}>
            <span class="tag">{CONFLICT_KINDS[c.kind] ?? c.kind}</span>
            <span class="reason">{c.detail}</span>
          </li>
        ))}
      </ul>
    </>
  );
}

function Stat({ label, value, testId, warn }: { label: string; value: number | string; testId: string; warn?: boolean }) {
  return (
    <div class={`stat ${warn ? "warn" : ""}`}>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}
