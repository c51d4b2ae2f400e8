import { useEffect, useRef, useState } from "preact/hooks";

import type { AppError } from "../../bindings/AppError";
import type { IndividualHit } from "../../bindings/IndividualHit";
import { ErrorLine } from "../../components/ErrorLine";
import { Img } from "../../components/Img";
import { reviewSearch } from "../../ipc";
import { formatScore } from "../../lib/format";

/** Wait this long after the last keystroke before asking the catalogue. */
export const SEARCH_DEBOUNCE_MS = 120;
/** Hits listed at most. */
export const SEARCH_LIMIT = 20;

/**
 * The hit whose code is `code` (case-insensitive, trimmed), or null: how
 * "N with an existing code" finds the individual to offer instead.
 */
export function exactCodeMatch(hits: IndividualHit[], code: string): IndividualHit | null {
  const wanted = code.trim().toLowerCase();
  if (!wanted) return null;
  return hits.find((h) => h.code.trim().toLowerCase() === wanted) ?? null;
}

function sightingsText(n: number): string {
  return n === 1 ? "1 sighting" : `${n} sightings`;
}

type Props = {
  detectionId: number;
  initialQuery?: string;
  onAssign: (hit: IndividualHit) => void;
  onClose: () => void;
  /** An assignment is being made: Enter and the buttons wait. */
  busy: boolean;
  /** The assignment's error, shown here beside the search that caused it. */
  error: AppError | null;
};

/**
 * "Assign to any individual": search the whole catalogue by code, name,
 * species or alias while typing, best match to this detection first; arrow
 * keys move the highlight, Enter assigns it, Esc closes. Keys typed here do
 * not reach the review's shortcuts.
 */
export function SearchAssign({ detectionId, initialQuery = "", onAssign, onClose, busy, error }: Props) {
  const [query, setQuery] = useState(initialQuery);
  const [hits, setHits] = useState<IndividualHit[]>([]);
  /** The query `hits` answer (null before the first answer). */
  const [answered, setAnswered] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const [searchError, setSearchError] = useState<AppError | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const latest = useRef(0);
  /** Enter was pressed before the hits for the typed query arrived. */
  const enterPending = useRef(false);
  const assign = useRef(onAssign);
  assign.current = onAssign;
  const busyNow = useRef(busy);
  busyNow.current = busy;

  useEffect(() => {
    input.current?.focus();
  }, []);

  useEffect(() => {
    const mine = ++latest.current;
    const timer = setTimeout(async () => {
      try {
        const found = await reviewSearch(detectionId, query, SEARCH_LIMIT);
        if (mine !== latest.current) return;
        setHits(found);
        setAnswered(query);
        setActive(0);
        setSearchError(null);
        if (enterPending.current) {
          enterPending.current = false;
          if (found[0] && !busyNow.current) assign.current(found[0]);
        }
      } catch (e) {
        if (mine !== latest.current) return;
        enterPending.current = false;
        setHits([]);
        setAnswered(query);
        setSearchError(e as AppError);
      }
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [detectionId, query]);

  useEffect(() => {
    const row = list.current?.children[active] as HTMLElement | undefined;
    row?.scrollIntoView?.({ block: "nearest" });
  }, [active, hits]);

  const fresh = answered === query;
  const choose = (hit: IndividualHit | undefined) => {
    if (hit && !busy) onAssign(hit);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    // The review's own keys (1–5, N, X…) must not fire while typing here.
    e.stopPropagation();
    if (e.key === "Escape") {
      e.preventDefault();
      onClose();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!hits.length) return;
      const step = e.key === "ArrowDown" ? 1 : -1;
      setActive((a) => Math.min(hits.length - 1, Math.max(0, a + step)));
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (busy) return;
      // Hits for an older query would assign the wrong animal: wait for these.
      if (!fresh) enterPending.current = true;
      else choose(hits[active]);
    }
  };

  const listId = `search-hits-${detectionId}`;
  return (
    <section class="panel search-assign" data-testid="search-assign" onKeyDown={onKeyDown}>
      <label>
        Assign to any individual <span class="muted">(code, name, species or alias · ↑↓ · Enter · Esc)</span>
        <input
          ref={input}
          type="search"
          data-testid="search-input"
          aria-controls={listId}
          aria-activedescendant={hits[active] ? `${listId}-${hits[active].individualId}` : undefined}
          autoFocus
          autoComplete="off"
          spellcheck={false}
          value={query}
          placeholder="e.g. BEL-007, Ghost, beluga"
          onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
        />
      </label>
      <ErrorLine error={searchError} testId="search-error" />
      <ErrorLine error={error} testId="assign-error" />
      {fresh && !searchError && hits.length === 0 && (
        <p class="muted" data-testid="search-empty">
          {query.trim() ? `No individual matches “${query.trim()}”.` : "The catalogue has no individual yet."}
        </p>
      )}
      {!fresh && answered === null && <p class="muted">Searching…</p>}
      <ol class="suggestions" id={listId} role="listbox" ref={list}>
        {hits.map((h, i) => (
          <li
            key={h.individualId}
            id={`${listId}-${h.individualId}`}
            role="option"
            aria-selected={i === active}
            data-testid="search-hit"
            data-individual-id={String(h.individualId)}
            class={`suggestion${i === active ? " selected" : ""}`}
            style={i === active ? { background: "var(--accent-soft)" } : undefined}
            onClick={() => setActive(i)}
            onDblClick={() => choose(h)}
          >
            <Img path={h.bestCrop} alt={`best crop of ${h.code}`} class="thumb" />
            <strong>{h.code}</strong>
            <span class="muted">
              {h.name ? `${h.name} · ` : ""}
              {h.species ?? "species ?"} · {sightingsText(h.sightings)}
            </span>
            <span class="score" title="similarity to this detection">
              {formatScore(h.similarity)}
            </span>
            <button
              type="button"
              disabled={busy}
              onClick={(e) => {
                e.stopPropagation();
                choose(h);
              }}
            >
              Assign
            </button>
          </li>
        ))}
      </ol>
      <div class="actions">
        <button type="button" onClick={onClose}>
          Close <kbd>Esc</kbd>
        </button>
      </div>
    </section>
  );
}
