/**
 * Review queue logic that does not need a screen: grouping by encounter,
 * choosing the next item after the queue is refreshed, and the "same as
 * previous" rule (P) over the decisions made in this session.
 */
import type { ReviewAction } from "../bindings/ReviewAction";
import type { ReviewItem } from "../bindings/ReviewItem";

export type EncounterGroup = {
  /** Stable key: the encounter id, or the label for photos with no encounter. */
  key: string;
  encounterId: number | null;
  label: string;
  /** Index of the group's first item in the flat queue. */
  start: number;
  items: ReviewItem[];
};

function groupKey(it: ReviewItem): string {
  return it.encounterId != null ? `e${it.encounterId}` : `l${it.encounterLabel}`;
}

/**
 * Consecutive runs of the same encounter. The backend orders the queue by
 * encounter then time, so a run is an encounter; if an encounter ever came
 * back split, it shows as two headers rather than reordering the queue
 * (the flat order is what ←/→ walk through).
 */
export function groupByEncounter(items: ReviewItem[]): EncounterGroup[] {
  const groups: EncounterGroup[] = [];
  items.forEach((it, i) => {
    const key = groupKey(it);
    const last = groups[groups.length - 1];
    if (last && last.key === key) last.items.push(it);
    else groups.push({ key, encounterId: it.encounterId, label: it.encounterLabel, start: i, items: [it] });
  });
  return groups;
}

/**
 * Where to stand after the queue was reloaded. Prefer the first item that
 * came after `fromIndex` in the old queue and is still waiting (so a decided
 * item moves us forward, and skipped items behind us stay behind); else the
 * same position clamped; -1 for an empty queue.
 */
export function indexAfterReload(
  oldItems: ReviewItem[],
  fromIndex: number,
  newItems: ReviewItem[],
  advance = true,
): number {
  if (newItems.length === 0) return -1;
  const pos = new Map(newItems.map((it, i) => [it.detectionId, i]));
  const startAt = advance ? fromIndex + 1 : fromIndex;
  for (let i = Math.max(0, startAt); i < oldItems.length; i++) {
    const p = pos.get(oldItems[i].detectionId);
    if (p !== undefined) return p;
  }
  return Math.min(Math.max(0, fromIndex), newItems.length - 1);
}

/** Index of a detection in the queue, or `fallback` when it is not there. */
export function indexOfDetection(items: ReviewItem[], detectionId: number, fallback: number): number {
  const i = items.findIndex((it) => it.detectionId === detectionId);
  if (i >= 0) return i;
  if (items.length === 0) return -1;
  return Math.min(Math.max(0, fallback), items.length - 1);
}

/** One decision made in this session, remembered for P and undo. */
export type Decision = {
  detectionId: number;
  encounterId: number | null;
  action: ReviewAction;
  individualId: number | null;
  code: string | null;
};

/**
 * The individual "same as previous" attaches to: the one chosen by the most
 * recent decision in the same encounter that named an individual (accept,
 * new individual, or an earlier P). "Not identifiable" decisions are passed
 * over, because the fin before was unreadable, not a different animal.
 * Photos without an encounter have no "previous" (null).
 */
export function sameAsPreviousTarget(
  history: Decision[],
  item: Pick<ReviewItem, "detectionId" | "encounterId">,
): { individualId: number; code: string | null } | null {
  if (item.encounterId == null) return null;
  for (let i = history.length - 1; i >= 0; i--) {
    const d = history[i];
    if (d.encounterId !== item.encounterId) continue;
    if (d.detectionId === item.detectionId) continue;
    if (d.individualId != null) return { individualId: d.individualId, code: d.code };
  }
  return null;
}

/** The history after an undo of `detectionId`: its latest decision forgotten. */
export function forgetDecision(history: Decision[], detectionId: number): Decision[] {
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i].detectionId === detectionId) return [...history.slice(0, i), ...history.slice(i + 1)];
  }
  return history;
}
