import type { Suggestion } from "../../bindings/Suggestion";
import { Img } from "../../components/Img";
import { formatScore } from "../../lib/format";

/** How many catalogue candidates the keys 1–5 reach. */
export const KEYED = 5;

/**
 * The catalogued individuals among a detection's suggestions, best first:
 * key k is always the k-th of these, whatever the threshold says about
 * "new individual" (that is a fixed action, N, beside them).
 */
export function candidatesOf(suggestions: Suggestion[]): Suggestion[] {
  return [...suggestions]
    .sort((a, b) => a.rank - b.rank)
    .filter((s) => s.individualId != null)
    .slice(0, KEYED);
}

/** Whether the threshold puts "new individual" before every candidate. */
export function newSuggested(suggestions: Suggestion[]): boolean {
  const first = [...suggestions].sort((a, b) => a.rank - b.rank)[0];
  return first != null && first.individualId == null;
}

/**
 * Why the suggested decision is what it is, in the researcher's terms: the
 * best candidate's score against the threshold in force, and the gap.
 */
export function suggestionReason(suggestions: Suggestion[], threshold: number | null): string {
  const best = candidatesOf(suggestions)[0];
  if (!best) return "the catalogue has no candidate for this photo";
  const score = best.score;
  if (score == null || threshold == null) {
    return newSuggested(suggestions)
      ? `nothing in the catalogue is close enough (best: ${best.code ?? "?"})`
      : `best match ${best.code ?? "?"}`;
  }
  const gap = formatScore(Math.abs(score - threshold));
  return score < threshold
    ? `best match ${best.code ?? "?"} scores ${formatScore(score)}, ${gap} below the threshold ${formatScore(threshold)}`
    : `${best.code ?? "?"} scores ${formatScore(score)}, ${gap} above the threshold ${formatScore(threshold)}`;
}

type Props = {
  candidates: Suggestion[];
  /** 1-based position of the candidate shown in the comparison. */
  selected: number | null;
  /** Position 1 is the suggested decision (not "new individual"). */
  firstSuggested: boolean;
  onSelect: (key: number) => void;
  onAccept: (key: number) => void;
  disabled: boolean;
};

/** The five best catalogue candidates as cards, keyed 1–5 by position. */
export function Suggestions({ candidates, selected, firstSuggested, onSelect, onAccept, disabled }: Props) {
  if (!candidates.length) {
    return (
      <p class="candidates-empty muted" data-testid="no-candidates">
        No catalogued individual to compare with: name it (N) or find one (A).
      </p>
    );
  }
  return (
    <ol class="candidates">
      {candidates.map((s, i) => {
        const key = i + 1;
        const classes = ["candidate", selected === key ? "selected" : "", key === 1 && firstSuggested ? "suggested" : ""];
        return (
          <li
            key={s.individualId}
            data-testid="suggestion"
            data-rank={key}
            data-individual-id={String(s.individualId)}
            class={classes.filter(Boolean).join(" ")}
            onClick={() => onSelect(key)}
            title={`${s.code ?? ""}${s.name ? ` · ${s.name}` : ""}${s.species ? ` · ${s.species}` : ""}`}
          >
            <div class="candidate-top">
              <kbd class="rank">{key}</kbd>
              <strong class="candidate-code">{s.code}</strong>
              <span class="score" title="similarity">
                {formatScore(s.score)}
              </span>
            </div>
            <Img path={s.bestCrop} alt={`best crop of ${s.code ?? ""}`} class="best" />
            <div class="candidate-meta muted">
              {s.name ? `${s.name} · ` : ""}
              {s.species ?? "species ?"}
            </div>
            <div class="strip">
              {s.strip.slice(0, 4).map((p) => (
                <Img key={p} path={p} alt="" class="strip-crop" />
              ))}
            </div>
            <button
              type="button"
              class="accept"
              disabled={disabled}
              onClick={(e) => {
                e.stopPropagation();
                onAccept(key);
              }}
            >
              Accept <kbd>{key}</kbd>
            </button>
          </li>
        );
      })}
    </ol>
  );
}
