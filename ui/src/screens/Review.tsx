/**
 * Review: one detection at a time, keyboard first. Decisions go to the
 * backend, then the queue is reloaded (the database is the truth) and we
 * stand on the item that followed the decided one. The session's decisions
 * are kept locally only for "same as previous" (P).
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { ReviewItem } from "../bindings/ReviewItem";
import type { ReviewOutcome } from "../bindings/ReviewOutcome";
import { ErrorLine } from "../components/ErrorLine";
import {
  imageSrc,
  reviewAccept,
  reviewNewIndividual,
  reviewQueue,
  reviewSameAs,
  reviewUndo,
  reviewUnidentifiable,
  toAppError,
} from "../ipc";
import { baseName, formatScore, formatTaken } from "../lib/format";
import { reviewKeyAction, type ReviewKeyAction } from "../lib/keys";
import {
  forgetDecision,
  indexAfterReload,
  indexOfDetection,
  sameAsPreviousTarget,
  type Decision,
} from "../lib/queue";
import { IDENTITY, type View } from "../lib/zoom";
import { onIngestEnd } from "../state/ingest";
import { Compare } from "./review/Compare";
import { PhotoBox } from "./review/PhotoBox";
import { QueueList } from "./review/QueueList";
import { Suggestions } from "./review/Suggestions";

/** Enough to work through a survey day; the rest arrives as items are decided. */
export const QUEUE_LIMIT = 500;

const ACTION_WORDS: Record<ReviewOutcome["action"], string> = {
  accept: "accepted",
  newIndividual: "new individual",
  unidentifiable: "not identifiable",
};

/** The new-individual prompt: the code typed, and the species offered. */
type NewPrompt = { code: string; species: string };

type ItemUi = {
  id: number | null;
  flip: boolean;
  view: View;
  selectedRank: number | null;
  prompt: NewPrompt | null;
};

/** A new item starts unzoomed, unmirrored, comparing against its best candidate. */
function freshUi(item: ReviewItem | null): ItemUi {
  const first = item?.suggestions
    .slice()
    .sort((a, b) => a.rank - b.rank)
    .find((s) => s.individualId != null);
  return { id: item?.detectionId ?? null, flip: false, view: IDENTITY, selectedRank: first ? first.rank : null, prompt: null };
}

export function ReviewScreen({ onChanged }: { onChanged: () => void }) {
  const [items, setItems] = useState<ReviewItem[]>([]);
  const [total, setTotal] = useState(0);
  const [index, setIndex] = useState(-1);
  const [loaded, setLoaded] = useState(false);
  const [history, setHistory] = useState<Decision[]>([]);
  const [status, setStatus] = useState("");
  const [error, setError] = useState<AppError | null>(null);
  const [uiState, setUiState] = useState<ItemUi>(() => freshUi(null));
  const busy = useRef(false);
  const [busyShown, setBusyShown] = useState(false);

  const item = index >= 0 && index < items.length ? items[index] : null;

  // Per-item view state (zoom, mirror, compared suggestion, code prompt) is
  // derived during render, not reset in an effect: a key pressed right after
  // an item appears must act on that item's fresh state, not be overwritten.
  const ui = uiState.id === (item?.detectionId ?? null) ? uiState : freshUi(item);
  const patchUi = (f: (u: ItemUi) => Partial<ItemUi>) => {
    const id = item?.detectionId ?? null;
    setUiState((prev) => {
      const base = prev.id === id ? prev : freshUi(item);
      return { ...base, ...f(base) };
    });
  };
  const { flip, view, selectedRank, prompt } = ui;
  const setPrompt = (p: NewPrompt | null) => patchUi(() => ({ prompt: p }));
  // The code field takes the focus when the prompt opens (not on every
  // render, which would pull it out of the species field).
  const codeInput = useRef<HTMLInputElement>(null);
  const promptOpen = prompt != null;
  useEffect(() => {
    if (promptOpen) codeInput.current?.focus();
  }, [promptOpen]);
  // The prompt offers the survey's species, else the nearest suggestion's.
  const openPrompt = () => setPrompt({ code: "", species: item?.suggestedSpecies ?? "" });
  const setFlip = (f: (v: boolean) => boolean) => patchUi((u) => ({ flip: f(u.flip) }));
  const setView = (f: (v: View) => View) => patchUi((u) => ({ view: f(u.view) }));
  const setSelectedRank = (rank: number) => patchUi(() => ({ selectedRank: rank }));

  const load = useCallback(async (place: (items: ReviewItem[]) => number) => {
    const q = await reviewQueue(QUEUE_LIMIT);
    setItems(q.items);
    setTotal(Math.max(q.total, q.items.length));
    setIndex(place(q.items));
    setLoaded(true);
  }, []);

  useEffect(() => {
    load((its) => (its.length ? 0 : -1)).catch((e) => {
      setError(toAppError(e));
      setLoaded(true);
    });
  }, [load]);

  // An import finishing while we review adds items; reload, staying put.
  const currentId = useRef<number | null>(null);
  currentId.current = item?.detectionId ?? null;
  useEffect(
    () =>
      onIngestEnd(() => {
        if (busy.current) return;
        const id = currentId.current;
        load((fresh) => (id == null ? (fresh.length ? 0 : -1) : indexOfDetection(fresh, id, 0))).catch((e) =>
          setError(toAppError(e)),
        );
      }),
    [load],
  );

  // Warm the cache for the next item so the switch after a decision is instant.
  useEffect(() => {
    const next = items[index + 1];
    if (!next) return;
    for (const p of [next.cropPath, next.thumbPath ?? next.photoPath, next.suggestions[0]?.bestCrop]) {
      if (p) new Image().src = imageSrc(p);
    }
  }, [items, index]);

  /** Runs one backend call at a time; key repeats while one is in flight are dropped. */
  const guarded = async (f: () => Promise<void>) => {
    if (busy.current) return;
    busy.current = true;
    setBusyShown(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(toAppError(e));
    } finally {
      busy.current = false;
      setBusyShown(false);
    }
  };

  const decide = (call: (it: ReviewItem) => Promise<ReviewOutcome>) => {
    const it = item;
    if (!it) return;
    void guarded(async () => {
      const o = await call(it);
      setHistory((h) => [
        ...h,
        {
          detectionId: o.detectionId,
          encounterId: it.encounterId,
          action: o.action,
          individualId: o.individualId,
          code: o.code,
        },
      ]);
      setStatus(
        `#${o.detectionId}: ${ACTION_WORDS[o.action]}${o.code ? ` ${o.code}` : ""} · ${o.toReview} left`,
      );
      setPrompt(null);
      const oldItems = items;
      const at = index;
      await load((fresh) => indexAfterReload(oldItems, at, fresh));
      onChanged();
    });
  };

  const accept = (rank: number) => {
    if (!item) return;
    const s = item.suggestions.find((x) => x.rank === rank);
    if (!s) {
      setStatus(`No suggestion ${rank}`);
      return;
    }
    if (s.individualId == null) {
      openPrompt();
      return;
    }
    const id = s.individualId;
    decide((it) => reviewAccept(it.detectionId, id, s.score, s.rank));
  };

  // Enter confirms and Esc closes, in either field of the prompt.
  const promptKeys = (e: KeyboardEvent) => {
    if (e.key === "Enter") {
      e.preventDefault();
      confirmNew();
    } else if (e.key === "Escape") {
      e.preventDefault();
      setPrompt(null);
    }
  };

  const confirmNew = () => {
    const code = prompt?.code.trim() ?? "";
    if (!code) {
      setStatus("Type a code for the new individual");
      return;
    }
    const species = prompt?.species.trim() || null;
    decide((it) => reviewNewIndividual(it.detectionId, code, species));
  };

  const sameAsPrevious = () => {
    if (!item) return;
    const target = sameAsPreviousTarget(history, item);
    if (!target) {
      setStatus(
        item.encounterId == null
          ? "No encounter for this photo: nothing to be the same as"
          : "No earlier decision in this encounter yet",
      );
      return;
    }
    decide((it) => reviewSameAs(it.detectionId, target.individualId));
  };

  const undo = () =>
    void guarded(async () => {
      const u = await reviewUndo();
      if (!u) {
        setStatus("Nothing to undo");
        return;
      }
      setHistory((h) => forgetDecision(h, u.detectionId));
      setStatus(`Undone: #${u.detectionId} ${ACTION_WORDS[u.action]} · ${u.toReview} left`);
      const at = index;
      await load((fresh) => indexOfDetection(fresh, u.detectionId, at));
      onChanged();
    });

  const move = (delta: number) => {
    if (!items.length) return;
    setIndex((i) => Math.min(items.length - 1, Math.max(0, i + delta)));
  };

  const run = (a: ReviewKeyAction) => {
    if (a.type === "cancel") {
      setPrompt(null);
      return;
    }
    if (a.type === "undo") return undo();
    if (!item) return;
    switch (a.type) {
      case "accept":
        return accept(a.rank);
      case "newIndividual":
        return openPrompt();
      case "unidentifiable":
        return decide((it) => reviewUnidentifiable(it.detectionId));
      case "skip":
        if (index >= items.length - 1) setStatus(`Skipped #${item.detectionId} · end of queue`);
        else setStatus(`Skipped #${item.detectionId}`);
        return move(1);
      case "prev":
        return move(-1);
      case "next":
        return move(1);
      case "sameAsPrevious":
        return sameAsPrevious();
      case "flip":
        return setFlip((f) => !f);
    }
  };

  // The listener is bound once; it calls the latest closure through a ref.
  const runRef = useRef(run);
  runRef.current = run;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const a = reviewKeyAction(e);
      if (!a) return;
      e.preventDefault();
      runRef.current(a);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  if (!loaded) return <section class="review">Loading queue…</section>;

  const selected = item?.suggestions.find((s) => s.rank === selectedRank) ?? null;
  const pTarget = item ? sameAsPreviousTarget(history, item) : null;

  return (
    <section class="review">
      <div class="review-top">
        <h1>Review</h1>
        <span class="remaining">
          <span data-testid="review-remaining">{total}</span> to review
        </span>
        <span class="status" data-testid="review-status" aria-live="polite">
          {busyShown ? "Saving…" : status}
        </span>
      </div>
      <ErrorLine error={error} />
      {!item ? (
        <div class="empty panel" data-testid="review-empty">
          <h2>Nothing left to review</h2>
          <p class="muted">Import more photos, or press U to undo the last decision.</p>
        </div>
      ) : (
        <div class="review-grid">
          <QueueList items={items} index={index} onJump={setIndex} />
          <div class="review-item" data-testid="review-item" data-detection-id={String(item.detectionId)}>
            <div class="item-head">
              <strong data-testid="review-file" title={item.photoPath}>
                {baseName(item.photoPath)}
              </strong>
              <span class="muted">{item.encounterLabel}</span>
              <span class="muted">
                {formatTaken(item.takenAt)}
                {item.latitude != null && item.longitude != null
                  ? ` · ${item.latitude.toFixed(4)}, ${item.longitude.toFixed(4)}`
                  : ""}{" "}
                · #{item.detectionId} · {index + 1} of {items.length}
              </span>
              {item.species && (
                <span class="muted" data-testid="review-scope" title="Set as the survey's species at import">
                  · suggestions from {item.species} (and individuals of unknown species)
                </span>
              )}
            </div>
            <div class="item-media">
              <PhotoBox item={item} />
              <Compare
                queryPath={item.cropPath}
                candidatePath={selected?.bestCrop ?? null}
                candidateLabel={
                  selected
                    ? selected.individualId == null
                      ? "new individual"
                      : `${selected.code ?? "?"} · ${formatScore(selected.score)}`
                    : "no candidate"
                }
                flip={flip}
                onFlip={() => setFlip((f) => !f)}
                view={view}
                setView={setView}
              />
            </div>
            {prompt && (
              <div class="new-prompt panel" role="dialog" aria-label="New individual">
                <label>
                  <span class="label">Code for the new individual</span>
                  <input
                    type="text"
                    data-testid="new-individual-code"
                    autoFocus
                    ref={codeInput}
                    value={prompt.code}
                    onInput={(e) => setPrompt({ ...prompt, code: (e.currentTarget as HTMLInputElement).value })}
                    onKeyDown={promptKeys}
                  />
                </label>
                <label>
                  <span class="label">Species</span>
                  <input
                    type="text"
                    data-testid="new-individual-species"
                    placeholder="unknown"
                    value={prompt.species}
                    onInput={(e) => setPrompt({ ...prompt, species: (e.currentTarget as HTMLInputElement).value })}
                    onKeyDown={promptKeys}
                  />
                </label>
                <button type="button" class="primary" data-testid="new-individual-ok" onClick={confirmNew}>
                  Create
                </button>
                <button type="button" onClick={() => setPrompt(null)}>
                  Cancel <kbd>Esc</kbd>
                </button>
              </div>
            )}
            <Suggestions
              suggestions={item.suggestions}
              selectedRank={selectedRank}
              onSelect={setSelectedRank}
              onAccept={accept}
              disabled={busyShown}
            />
            <div class="actions">
              <button type="button" onClick={openPrompt}>
                New individual <kbd>N</kbd>
              </button>
              <button type="button" onClick={() => run({ type: "sameAsPrevious" })} disabled={!pTarget}>
                Same as previous{pTarget?.code ? ` (${pTarget.code})` : ""} <kbd>P</kbd>
              </button>
              <button type="button" onClick={() => run({ type: "unidentifiable" })}>
                Not identifiable <kbd>X</kbd>
              </button>
              <button type="button" onClick={() => run({ type: "skip" })}>
                Skip <kbd>S</kbd>
              </button>
              <button type="button" onClick={() => run({ type: "undo" })}>
                Undo <kbd>U</kbd>
              </button>
              <span class="spacer" />
              <button type="button" onClick={() => run({ type: "prev" })} disabled={index <= 0}>
                <kbd>←</kbd> Previous
              </button>
              <button type="button" onClick={() => run({ type: "next" })} disabled={index >= items.length - 1}>
                Next <kbd>→</kbd>
              </button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
