/**
 * The scope bar above the Review's suggestions (issue 16): "same side only"
 * and "quality ≥ Q2" re-rank the current detection's suggestions through
 * `scoped_suggestions` (the engine's `matching::scope`: photos graded the
 * other side leave, ungraded photos stay for a side scope and leave a
 * quality one). The ranking is handed up to replace the item's suggestions
 * (nothing is stored); clearing the scope hands back the stored ones. The
 * scope stays for the session, from item to item, and says itself while
 * active: "Scope: same side (left), quality >= Q2 · 12 photos left out".
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { AppError } from "../../bindings/AppError";
import type { MatchScope } from "../../bindings/MatchScope";
import type { ReviewItem } from "../../bindings/ReviewItem";
import type { Suggestion } from "../../bindings/Suggestion";
import { ErrorLine } from "../../components/ErrorLine";
import { scopedSuggestions, toAppError } from "../../ipc";
import { GRADE_SPECS } from "../../lib/grades";

export const NO_SCOPE: MatchScope = { sameSide: false, minQuality: null };

/** The scope chosen in this session: kept when the Review screen is left and opened again. */
let sessionScope: MatchScope = NO_SCOPE;

/** For tests: start a session without a scope. */
export function resetSessionScope() {
  sessionScope = NO_SCOPE;
}

export function scopeActive(s: MatchScope): boolean {
  return s.sameSide || s.minQuality != null;
}

const QUALITIES = GRADE_SPECS.find((s) => s.attribute === "quality")!.values;

type Props = {
  item: ReviewItem | null;
  /** Show these suggestions for detection `detectionId` in place of its current ones. */
  onScoped: (detectionId: number, suggestions: Suggestion[]) => void;
  disabled?: boolean;
};

type Shown = { detectionId: number; label: string; leftOut: number };

export function ScopeBar({ item, onScoped, disabled }: Props) {
  const [scope, setScopeState] = useState<MatchScope>(sessionScope);
  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  /** The item's suggestions as the queue gave them (to hand back when the scope clears or fails). */
  const stored = useRef<{ detectionId: number; list: Suggestion[] } | null>(null);
  /** The list last handed up from a scope. */
  const mine = useRef<Suggestion[] | null>(null);
  /** What the last run was for: skipped when the same scope meets the list it produced. */
  const done = useRef<{ key: string; list: Suggestion[] } | null>(null);

  const setScope = (s: MatchScope) => {
    sessionScope = s;
    setScopeState(s);
  };
  const id = item?.detectionId ?? null;
  const side = item?.grades?.side ?? null;
  const suggestions = item?.suggestions ?? null;

  useEffect(() => {
    if (id == null || suggestions == null) return;
    if (suggestions !== mine.current) stored.current = { detectionId: id, list: suggestions };
    const handBack = () => {
      const s = stored.current;
      if (s && s.detectionId === id && suggestions === mine.current) {
        mine.current = null;
        done.current = { key: keyOf(id, side, scope), list: s.list };
        onScoped(id, s.list);
      }
    };
    if (!scopeActive(scope)) {
      setShown(null);
      setError(null);
      handBack();
      return;
    }
    const key = keyOf(id, side, scope);
    if (done.current?.key === key && done.current.list === suggestions) return;
    done.current = { key, list: suggestions };
    let stale = false;
    scopedSuggestions(id, scope).then(
      (r) => {
        if (stale) return;
        mine.current = r.suggestions;
        done.current = { key, list: r.suggestions };
        setShown({ detectionId: id, label: r.label, leftOut: r.leftOut });
        setError(null);
        onScoped(id, r.suggestions);
      },
      (e) => {
        if (stale) return;
        setShown(null);
        setError(toAppError(e));
        // A scope that failed must not look applied.
        handBack();
      },
    );
    return () => {
      stale = true;
    };
  }, [id, side, scope.sameSide, scope.minQuality, suggestions]);

  if (!item) return null;
  const active = scopeActive(scope) && shown?.detectionId === item.detectionId;
  return (
    <div class="scope-bar" data-testid="scope-bar">
      <label title={side ? "Only catalogue photos that may show this side" : "Grade this photo's side first (L or R)"}>
        <input
          type="checkbox"
          data-testid="scope-same-side"
          checked={scope.sameSide}
          disabled={disabled}
          onChange={(e) => {
            const box = e.currentTarget as HTMLInputElement;
            setScope({ ...scope, sameSide: box.checked });
            // Review is keyboard first: the keys go back to the queue.
            box.blur();
          }}
        />{" "}
        Same side{side ? ` (${side})` : ""}
      </label>
      <label>
        Quality{" "}
        <select
          data-testid="scope-min-quality"
          value={scope.minQuality ?? ""}
          disabled={disabled}
          onChange={(e) => {
            const select = e.currentTarget as HTMLSelectElement;
            const v = select.value;
            setScope({ ...scope, minQuality: v === "" ? null : (v as MatchScope["minQuality"]) });
            select.blur();
          }}
        >
          <option value="">any</option>
          {QUALITIES.map((q) => (
            <option value={q.value}>≥ {q.value}</option>
          ))}
        </select>
      </label>
      {active && shown && (
        <span class="scope-active" data-testid="scope-active">
          Scope: {shown.label} · {shown.leftOut} photo{shown.leftOut === 1 ? "" : "s"} left out
        </span>
      )}
      <ErrorLine error={error} testId="scope-error" />
    </div>
  );
}

function keyOf(id: number, side: string | null, s: MatchScope): string {
  return `${id}|${side ?? ""}|${s.sameSide}|${s.minQuality ?? ""}`;
}
