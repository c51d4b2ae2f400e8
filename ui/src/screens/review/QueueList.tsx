import { useEffect, useMemo, useRef } from "preact/hooks";
import type { ReviewItem } from "../../bindings/ReviewItem";
import { baseName, formatTaken } from "../../lib/format";
import { groupByEncounter } from "../../lib/queue";

/** The queue as encounters with their detections; click to jump. */
export function QueueList({ items, index, onJump }: { items: ReviewItem[]; index: number; onJump: (i: number) => void }) {
  const groups = useMemo(() => groupByEncounter(items), [items]);
  const current = useRef<HTMLButtonElement>(null);
  useEffect(() => current.current?.scrollIntoView?.({ block: "nearest" }), [index]);
  return (
    <div class="queue" aria-label="Review queue">
      {groups.map((g) => (
        <section key={`${g.key}:${g.start}`} class="encounter" data-testid="encounter-group">
          <h3 class="encounter-head" title={g.label}>
            {g.label} <span class="muted">({g.items.length})</span>
          </h3>
          {g.items.map((it, j) => {
            const i = g.start + j;
            return (
              <button
                type="button"
                key={it.detectionId}
                ref={i === index ? current : undefined}
                class={`queue-item ${i === index ? "current" : ""}`}
                data-testid="queue-item"
                title={`${it.photoPath}\n${formatTaken(it.takenAt)}`}
                onClick={() => onJump(i)}
              >
                <span class="queue-file">{baseName(it.photoPath)}</span>
                <span class="muted">#{it.detectionId}</span>
              </button>
            );
          })}
        </section>
      ))}
    </div>
  );
}
