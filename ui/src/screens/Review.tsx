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
import type { IndividualHit } from "../bindings/IndividualHit";
import type { PhotoBoxRow } from "../bindings/PhotoBoxRow";
import {
  boxAdd,
  boxList,
  boxRemove,
  boxSet,
  boxUndo,
  imageSrc,
  reviewAccept,
  reviewSearch,
  reviewNewIndividual,
  reviewQueue,
  reviewSameAs,
  reviewUndo,
  reviewUnidentifiable,
  setAttributes,
  toAppError,
} from "../ipc";
import { baseName, folderName, formatScore, formatTaken } from "../lib/format";
import { chordHint, gradeSpec, gradeStatus, type GradeAttribute } from "../lib/grades";
import { reviewKeyAction, type ReviewKeyAction } from "../lib/keys";
import { GradeChips } from "../components/GradeChips";
import {
  forgetDecision,
  indexAfterReload,
  indexOfDetection,
  sameAsPreviousTarget,
  type Decision,
} from "../lib/queue";
import type { Box } from "../lib/boxes";
import { IDENTITY, type View } from "../lib/zoom";
import { onIngestEnd } from "../state/ingest";
import { Compare } from "./review/Compare";
import { PhotoBox, type PhotoBoxEntry } from "./review/PhotoBox";
import { QueueList } from "./review/QueueList";
import { ScopeBar } from "./review/ScopeBar";
import { EncounterEditor } from "./review/EncounterEditor";
import { exactCodeMatch, SearchAssign } from "./review/SearchAssign";
import { candidatesOf, newSuggested, suggestionReason, Suggestions } from "./review/Suggestions";

/** Enough to work through a survey day; the rest arrives as items are decided. */
export const QUEUE_LIMIT = 500;

const ACTION_WORDS: Record<ReviewOutcome["action"], string> = {
  accept: "accepted",
  newIndividual: "new individual",
  unidentifiable: "not identifiable",
};

/**
 * The new-individual prompt: the code typed, the species offered, and the
 * catalogued individual that already has that code, if one does (N with an
 * existing code offers that individual instead of failing).
 */
type NewPrompt = { code: string; species: string; existing: IndividualHit | null };

/** Which panel is open under the photo: none, the N prompt, or the search (A). */
type ItemUi = {
  id: number | null;
  flip: boolean;
  view: View;
  /** Key (1–5) of the candidate shown in the comparison. */
  selectedKey: number | null;
  prompt: NewPrompt | null;
  searching: boolean;
  /** B was pressed: the next drag on the photo draws a box. */
  drawing: boolean;
  /** The box chosen on the photo for moving, resizing or deleting. */
  selectedBox: number | null;
};

/** A new item starts unzoomed, unmirrored, comparing against its best candidate. */
function freshUi(item: ReviewItem | null): ItemUi {
  const first = item ? candidatesOf(item.suggestions).length : 0;
  return {
    id: item?.detectionId ?? null,
    flip: false,
    view: IDENTITY,
    selectedKey: first ? 1 : null,
    prompt: null,
    searching: false,
    drawing: false,
    selectedBox: null,
  };
}

/** What U takes back: the newest review decision or box change of this session. */
type Undoable = "decision" | "box";

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
  const [boxes, setBoxes] = useState<PhotoBoxRow[]>([]);
  const undoStack = useRef<Undoable[]>([]);
  // Each decision bumps this; a queue reload that started before it is
  // stale (it may still list the item just decided) and is dropped.
  const generation = useRef(0);
  // The grade chord waiting for its second key (after Q, D, V or T).
  const chord = useRef<GradeAttribute | null>(null);
  // Grades being saved, in the order they were typed.
  const gradeQueue = useRef<Promise<void>>(Promise.resolve());

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
  const { flip, view, selectedKey, prompt, searching, drawing, selectedBox } = ui;
  const setPrompt = (p: NewPrompt | null) => patchUi(() => ({ prompt: p, searching: false }));
  const setSearching = (on: boolean) => patchUi(() => ({ searching: on, prompt: null, drawing: false }));
  const setDrawing = (on: boolean) => patchUi(() => ({ drawing: on, selectedBox: null }));
  const setSelectedBox = (id: number | null) => patchUi(() => ({ selectedBox: id }));
  const candidates = item ? candidatesOf(item.suggestions) : [];
  // "New individual" is the suggestion where the threshold ranks it first,
  // and where the catalogue has no candidate at all.
  const suggestNew = item ? newSuggested(item.suggestions) || candidates.length === 0 : false;
  // The code field takes the focus when the prompt opens (not on every
  // render, which would pull it out of the species field).
  const codeInput = useRef<HTMLInputElement>(null);
  const promptOpen = prompt != null;
  useEffect(() => {
    if (promptOpen) codeInput.current?.focus();
  }, [promptOpen]);
  // The prompt offers the survey's species, else the nearest suggestion's.
  const openPrompt = () => setPrompt({ code: "", species: item?.suggestedSpecies ?? "", existing: null });
  const setFlip = (f: (v: boolean) => boolean) => patchUi((u) => ({ flip: f(u.flip) }));
  const setView = (f: (v: View) => View) => patchUi((u) => ({ view: f(u.view) }));
  const setSelectedKey = (key: number) => patchUi(() => ({ selectedKey: key }));

  // The live boxes of the photo under review (others are other animals).
  const photoId = item?.photoId ?? null;
  const loadBoxes = useCallback(async (id: number | null) => {
    setBoxes(id == null ? [] : await boxList(id));
  }, []);
  useEffect(() => {
    loadBoxes(photoId).catch((e) => setError(toAppError(e)));
  }, [photoId, loadBoxes]);

  // N with a code the catalogue already has offers that individual.
  const promptCode = prompt?.code.trim() ?? "";
  const itemId = item?.detectionId ?? null;
  useEffect(() => {
    if (!promptCode || itemId == null) return;
    let live = true;
    const t = setTimeout(() => {
      reviewSearch(itemId, promptCode, 5)
        .then((hits) => {
          if (!live) return;
          const existing = exactCodeMatch(hits, promptCode);
          setUiState((u) => (u.id === itemId && u.prompt ? { ...u, prompt: { ...u.prompt, existing } } : u));
        })
        .catch(() => undefined);
    }, 120);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [promptCode, itemId]);

  const load = useCallback(async (place: (items: ReviewItem[]) => number) => {
    const started = generation.current;
    const q = await reviewQueue(QUEUE_LIMIT);
    if (started !== generation.current) return;
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

  /**
   * One decision: the backend writes it, then the decided item leaves the
   * list here at once and the next photo shows; the queue is reloaded
   * behind it (the database is the truth) without holding the keys.
   */
  const decide = (call: (it: ReviewItem) => Promise<ReviewOutcome>) => {
    const it = item;
    if (!it) return;
    void guarded(async () => {
      const o = await call(it);
      generation.current += 1;
      undoStack.current.push("decision");
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
      const rest = oldItems.filter((x) => x.detectionId !== it.detectionId);
      const nextIndex = rest.length ? indexAfterReload(oldItems, at, rest) : -1;
      setItems(rest);
      setTotal(o.toReview);
      setIndex(nextIndex);
      const nextId = rest[nextIndex]?.detectionId ?? null;
      void load((fresh) => (nextId == null ? (fresh.length ? 0 : -1) : indexOfDetection(fresh, nextId, nextIndex))).catch(
        (e) => setError(toAppError(e)),
      );
      onChanged();
    });
  };

  /** After a box change: reload, standing on `detectionId` (the box now under review). */
  const afterBoxChange = async (detectionId: number, message: string) => {
    generation.current += 1;
    undoStack.current.push("box");
    setStatus(message);
    patchUi(() => ({ drawing: false, selectedBox: null }));
    const at = index;
    await load((fresh) => indexOfDetection(fresh, detectionId, at));
    await loadBoxes(photoId);
    onChanged();
  };

  const drawn = (box: Box) => {
    const it = item;
    if (!it) return;
    // A photo the detector did not box is one whole-frame detection: the
    // first box drawn replaces it; any further box is another animal.
    const whole = boxes.find((b) => b.detectionId === it.detectionId && b.class === "whole");
    void guarded(async () => {
      const c = whole ? await boxSet(it.detectionId, box) : await boxAdd(it.photoId, box);
      await afterBoxChange(c.detectionId, `Box #${c.detectionId} drawn: suggestions ready · ${c.toReview} left`);
    });
  };

  const boxChanged = (detectionId: number, box: Box) =>
    void guarded(async () => {
      const c = await boxSet(detectionId, box);
      await afterBoxChange(c.detectionId, `Box #${detectionId} moved: now #${c.detectionId}, suggestions ready`);
    });

  const deleteBox = () => {
    const id = selectedBox;
    if (id == null) {
      setStatus("Click a box on the photo first, then press Delete to remove it");
      return;
    }
    void guarded(async () => {
      const c = await boxRemove(id);
      const next = items.find((x) => x.detectionId !== id && x.photoId === c.photoId)?.detectionId ?? item?.detectionId ?? id;
      await afterBoxChange(next, `Box #${id} removed · ${c.toReview} left (U undoes)`);
    });
  };

  const assign = (hit: IndividualHit) => {
    decide((it) => reviewAccept(it.detectionId, hit.individualId, hit.similarity, null));
  };

  /** Key k: the k-th catalogue candidate, always. */
  const accept = (key: number) => {
    if (!item) return;
    const s = candidatesOf(item.suggestions)[key - 1];
    if (!s || s.individualId == null) {
      setStatus(`No candidate ${key}: press N for a new individual or A to search the catalogue`);
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
    const existing = prompt?.existing ?? null;
    if (existing) {
      decide((it) => reviewAccept(it.detectionId, existing.individualId, existing.similarity, null));
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
      generation.current += 1;
      if (undoStack.current[undoStack.current.length - 1] === "box") {
        undoStack.current.pop();
        const c = await boxUndo();
        if (!c) {
          setStatus("Nothing to undo");
          return;
        }
        setStatus(`Undone: box ${c.action} #${c.detectionId} · ${c.toReview} left`);
        const back = c.live[0] ?? c.detectionId;
        const at = index;
        await load((fresh) => indexOfDetection(fresh, back, at));
        await loadBoxes(photoId);
        onChanged();
        return;
      }
      undoStack.current.pop();
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

  /**
   * Sets one grade of the item under review (or clears it, `value: null`)
   * and puts the grades the backend answers on the item in place: the item
   * stays in the queue and where it is. Grades typed in a quick run (Q 2 L
   * T K) are sent one after another, none dropped; while a decision or a
   * box change is saving the item is about to change, so a grade waits for
   * the next key instead.
   */
  const grade = (attribute: GradeAttribute, value: string | null) => {
    const it = item;
    if (!it || busy.current) return;
    setError(null);
    gradeQueue.current = gradeQueue.current.then(async () => {
      try {
        const grades = await setAttributes(it.detectionId, [{ attribute, value }]);
        // A reload begun before this would put the old grades back.
        generation.current += 1;
        setItems((list) => list.map((x) => (x.detectionId === it.detectionId ? { ...x, grades } : x)));
        setStatus(gradeStatus(attribute, value, it.detectionId));
      } catch (e) {
        setError(toAppError(e));
      }
    });
  };

  const move = (delta: number) => {
    if (!items.length) return;
    setIndex((i) => Math.min(items.length - 1, Math.max(0, i + delta)));
  };

  const run = (a: ReviewKeyAction) => {
    const chordWaited = chord.current != null;
    chord.current = null;
    if (a.type === "gradeChord") {
      if (!item) return;
      chord.current = a.attribute;
      setStatus(chordHint(a.attribute));
      return;
    }
    if (a.type === "gradeMiss") {
      const s = gradeSpec(a.attribute);
      setStatus(`${s.label} not set: press ${s.prefix.toUpperCase()} again, then one of its values`);
      return;
    }
    if (a.type === "cancel") {
      if (chordWaited) setStatus("");
      patchUi(() => ({ prompt: null, searching: false, drawing: false, selectedBox: null }));
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
      case "search":
        return setSearching(true);
      case "drawBox":
        setStatus(drawing ? "" : "Drag on the photo to box the animal · Esc cancels");
        return setDrawing(!drawing);
      case "deleteBox":
        return deleteBox();
      case "grade":
        return grade(a.attribute, a.value);
    }
  };

  // The listener is bound once; it calls the latest closure through a ref.
  const runRef = useRef(run);
  runRef.current = run;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const a = reviewKeyAction(e, chord.current);
      if (!a) return;
      e.preventDefault();
      runRef.current(a);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  if (!loaded) return <section class="review">Loading queue…</section>;

  const selected = selectedKey != null ? (candidates[selectedKey - 1] ?? null) : null;
  const pTarget = item ? sameAsPreviousTarget(history, item) : null;
  const reason = item ? suggestionReason(item.suggestions, item.threshold) : "";

  const photoBoxes: PhotoBoxEntry[] = boxes.map((b) => ({
    detectionId: b.detectionId,
    box: b.box as Box,
    drawnBy: b.drawnBy,
    drawnByAccount: b.drawnByAccount,
  }));

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
      {!item ? (
        <>
          <ErrorLine error={error} />
          <div class="empty panel" data-testid="review-empty">
            <h2>Nothing left to review</h2>
            <p class="muted">Import more photos, or press U to undo the last decision.</p>
          </div>
        </>
      ) : (
        <div class="review-grid">
          <QueueList items={items} index={index} onJump={setIndex} />
          <div class="review-item" data-testid="review-item" data-detection-id={String(item.detectionId)}>
            <div class="item-head">
              <strong data-testid="review-file" title={item.photoPath}>
                {baseName(item.photoPath)}
              </strong>
              <span class="muted" title={item.photoPath}>
                {folderName(item.photoPath)}
              </span>
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
              <div class="photo-pane">
                <PhotoBox
                  item={item}
                  boxes={photoBoxes}
                  drawing={drawing}
                  selected={selectedBox}
                  onSelect={setSelectedBox}
                  onDrawn={drawn}
                  onChanged={boxChanged}
                />
                <div class="photo-tools">
                  <button
                    type="button"
                    data-testid="review-draw-box"
                    class={drawing ? "toggle on" : "toggle"}
                    aria-pressed={drawing}
                    onClick={() => run({ type: "drawBox" })}
                    title="Draw a box around an animal (B), then drag on the photo"
                  >
                    Box <kbd>B</kbd>
                  </button>
                  <span class="muted" data-testid="box-count">
                    {boxes.length} box{boxes.length === 1 ? "" : "es"}
                    {selectedBox != null ? ` · #${selectedBox} selected: drag to move, corners to resize, Del removes` : ""}
                  </span>
                  {selectedBox != null && (
                    <button type="button" data-testid="review-delete-box" onClick={() => run({ type: "deleteBox" })}>
                      Remove box <kbd>Del</kbd>
                    </button>
                  )}
                </div>
              </div>
              <Compare
                queryPath={item.cropPath}
                queryRegion={{
                  photoPath: item.photoPath,
                  box: item.box as Box,
                  width: item.photoWidth,
                  height: item.photoHeight,
                }}
                candidatePath={selected?.bestCrop ?? null}
                candidateLabel={selected ? `${selected.code ?? "?"} · ${formatScore(selected.score)}` : "no candidate"}
                flip={flip}
                onFlip={() => setFlip((f) => !f)}
                view={view}
                setView={setView}
              />
            </div>
            <GradeChips grades={item.grades} onSet={grade} disabled={busyShown} keys />
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
                    onInput={(e) =>
                      setPrompt({ ...prompt, code: (e.currentTarget as HTMLInputElement).value, existing: null })
                    }
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
                    disabled={prompt.existing != null}
                    onInput={(e) => setPrompt({ ...prompt, species: (e.currentTarget as HTMLInputElement).value })}
                    onKeyDown={promptKeys}
                  />
                </label>
                {prompt.existing ? (
                  <button type="button" class="primary" data-testid="new-individual-assign" onClick={confirmNew}>
                    Assign to {prompt.existing.code} <kbd>Enter</kbd>
                  </button>
                ) : (
                  <button type="button" class="primary" data-testid="new-individual-ok" onClick={confirmNew}>
                    Create <kbd>Enter</kbd>
                  </button>
                )}
                <button type="button" onClick={() => setPrompt(null)}>
                  Cancel <kbd>Esc</kbd>
                </button>
                {prompt.existing && (
                  <p class="prompt-note" data-testid="new-individual-existing">
                    {prompt.existing.code} is already in the catalogue
                    {prompt.existing.species ? ` (${prompt.existing.species}` : " ("}
                    {prompt.existing.sightings} sighting{prompt.existing.sightings === 1 ? "" : "s"}): Enter gives this photo to
                    it.
                  </p>
                )}
                <ErrorLine error={error} testId="prompt-error" />
              </div>
            )}
            {searching && (
              <SearchAssign
                detectionId={item.detectionId}
                onAssign={assign}
                onClose={() => setSearching(false)}
                busy={busyShown}
                error={error}
              />
            )}
            <EncounterEditor
              encounterId={item.encounterId}
              disabled={busyShown}
              onChanged={() => {
                // A split or join renumbers photos' encounters: the queue's
                // labels and grouping are read again, this photo kept.
                const id = item.detectionId;
                const at = index;
                load((fresh) => indexOfDetection(fresh, id, at)).catch((e) => setError(toAppError(e)));
              }}
            />
            <ScopeBar
              item={item}
              onScoped={(id, suggestions) =>
                setItems((list) => list.map((i) => (i.detectionId === id ? { ...i, suggestions } : i)))
              }
              disabled={busyShown}
            />
            {!prompt && !searching && (
              <Suggestions
                candidates={candidates}
                selected={selectedKey}
                firstSuggested={!suggestNew}
                onSelect={setSelectedKey}
                onAccept={accept}
                disabled={busyShown}
              />
            )}
            <div class="decide-bar">
              <p class={`suggested-line${suggestNew ? " new" : ""}`} data-testid="review-suggested">
                <strong>Suggested: {suggestNew ? "new individual (N)" : `1 · ${candidates[0]?.code ?? "?"}`}</strong>
                <span class="muted"> — {reason}</span>
              </p>
              {!prompt && !searching && <ErrorLine error={error} testId="review-error" />}
              <div class="actions" data-testid="review-actions">
                <button
                  type="button"
                  data-testid="review-new"
                  class={suggestNew ? "suggested" : ""}
                  onClick={openPrompt}
                  title="Name a new individual (an existing code offers that individual)"
                >
                  New <kbd>N</kbd>
                </button>
                <button type="button" data-testid="review-search" onClick={() => setSearching(true)} title="Find any catalogued individual">
                  Find <kbd>A</kbd>
                </button>
                <button
                  type="button"
                  data-testid="review-same"
                  onClick={() => run({ type: "sameAsPrevious" })}
                  disabled={!pTarget}
                  title="Same individual as the previous decision in this encounter"
                >
                  Same{pTarget?.code ? ` (${pTarget.code})` : ""} <kbd>P</kbd>
                </button>
                <button type="button" data-testid="review-unidentifiable" onClick={() => run({ type: "unidentifiable" })}>
                  Not identifiable <kbd>X</kbd>
                </button>
                <button type="button" data-testid="review-skip" onClick={() => run({ type: "skip" })}>
                  Skip <kbd>S</kbd>
                </button>
                <button type="button" data-testid="review-undo" onClick={() => run({ type: "undo" })}>
                  Undo <kbd>U</kbd>
                </button>
                <span class="spacer" />
                <button type="button" data-testid="review-prev" onClick={() => run({ type: "prev" })} disabled={index <= 0}>
                  <kbd>←</kbd>
                </button>
                <button
                  type="button"
                  data-testid="review-next"
                  onClick={() => run({ type: "next" })}
                  disabled={index >= items.length - 1}
                >
                  <kbd>→</kbd>
                </button>
              </div>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
