/**
 * A detection's photo-ID grades as a row of chips, one group per attribute
 * (quality, distinctiveness, side, body part): the current value is pressed,
 * a click on another sets it, a click on the pressed one clears it. Review
 * shows it under the photo with each chord's key; the individual's page
 * shows the grades alone (`GradeSummary`) and this row to edit them.
 */
import type { Grades } from "../bindings/Grades";
import { GRADE_SPECS, type GradeAttribute, type GradeSpec, type GradeValue } from "../lib/grades";

type Props = {
  grades: Grades;
  onSet: (attribute: GradeAttribute, value: string | null) => void;
  disabled?: boolean;
  /** Show each attribute's chord key (Review's keyboard). */
  keys?: boolean;
};

export function GradeChips({ grades, onSet, disabled = false, keys = false }: Props) {
  return (
    <div class="grade-chips" data-testid="grade-chips">
      {GRADE_SPECS.map((s) => {
        const current = grades[s.attribute];
        return (
          <div
            class="grade-group"
            key={s.attribute}
            role="group"
            aria-label={s.label}
            data-testid={`grade-${s.attribute}`}
            data-value={current ?? ""}
          >
            <span class="label">
              {s.label}
              {keys && (
                <>
                  {" "}
                  <kbd>{s.prefix.toUpperCase()}</kbd>
                </>
              )}
            </span>
            {s.values.map((v) => {
              const on = current === v.value;
              return (
                <button
                  type="button"
                  key={v.value}
                  class={on ? "chip on" : "chip"}
                  aria-pressed={on}
                  disabled={disabled}
                  data-testid={`grade-${s.attribute}-${v.value}`}
                  title={chipTitle(s, v, on, keys)}
                  onClick={() => onSet(s.attribute, on ? null : v.value)}
                >
                  {v.chip ?? v.value}
                </button>
              );
            })}
          </div>
        );
      })}
    </div>
  );
}

/** "left (L, or V then L)": what a chip sets and, in Review, its keys. */
function chipTitle(s: GradeSpec, v: GradeValue, on: boolean, keys: boolean): string {
  if (on) return `${v.label}: click to clear`;
  if (!keys) return v.label;
  const chord = `${s.prefix.toUpperCase()} then ${v.key.toUpperCase()}`;
  return `${v.label} (${v.alone ? `${v.alone.toUpperCase()}, or ${chord}` : chord})`;
}

/** The grades alone, small: "Q2 D1 left fluke", "ungraded" when none is set. */
export function GradeSummary({ grades }: { grades: Grades }) {
  const set = GRADE_SPECS.map((s) => ({ attribute: s.attribute, label: s.label, value: grades[s.attribute] })).filter(
    (g) => g.value != null,
  );
  return (
    <span class="grade-summary" data-testid="grade-summary">
      {set.length === 0 ? (
        <span class="muted">ungraded</span>
      ) : (
        set.map((g) => (
          <span class="chip small" key={g.attribute} title={`${g.label} ${g.value}`} data-testid={`grade-summary-${g.attribute}`}>
            {g.value}
          </span>
        ))
      )}
    </span>
  );
}
