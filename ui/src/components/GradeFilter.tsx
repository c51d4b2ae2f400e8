/**
 * The photo-ID grade filter (issue 16) that the catalogue grid and the
 * Export screen share: photo quality "this good or better", a set of
 * distinctiveness grades, and (in the grid) the side and body part shown.
 * Empty choices do not filter.
 */
import { gradeSpec, type GradeAttribute } from "../lib/grades";

export type GradeChoice = {
  /** "Q2": Q1 or Q2; `null`: any, ungraded photos too. */
  minQuality: string | null;
  /** Empty: any. */
  distinctiveness: string[];
  side: string | null;
  part: string | null;
};

export const ANY_GRADE: GradeChoice = { minQuality: null, distinctiveness: [], side: null, part: null };

type Props = {
  value: GradeChoice;
  onChange: (v: GradeChoice) => void;
  /** `${testIdPrefix}-quality`, `-distinctiveness` (and `-D1`... per grade), `-side`, `-part`. */
  testIdPrefix: string;
  /** Also the side and body part (the grid; the exports filter by quality and distinctiveness only). */
  sideAndPart?: boolean;
  disabled?: boolean;
};

export function GradeFilter({ value, onChange, testIdPrefix, sideAndPart, disabled }: Props) {
  const set = (patch: Partial<GradeChoice>) => onChange({ ...value, ...patch });
  const quality = gradeSpec("quality");
  const toggle = (d: string) =>
    set({
      distinctiveness: value.distinctiveness.includes(d)
        ? value.distinctiveness.filter((x) => x !== d)
        : [...value.distinctiveness, d].sort(),
    });
  const single = (attribute: Extract<GradeAttribute, "side" | "part">) => {
    const spec = gradeSpec(attribute);
    return (
      <label class="inline">
        {spec.label.toLowerCase()}
        <select
          data-testid={`${testIdPrefix}-${attribute}`}
          value={value[attribute] ?? ""}
          disabled={disabled}
          onChange={(e) => set({ [attribute]: (e.currentTarget as HTMLSelectElement).value || null })}
        >
          <option value="">any</option>
          {spec.values.map((v) => (
            <option key={v.value} value={v.value}>
              {v.label}
            </option>
          ))}
        </select>
      </label>
    );
  };
  return (
    <>
      <label class="inline">
        quality
        <select
          data-testid={`${testIdPrefix}-quality`}
          value={value.minQuality ?? ""}
          disabled={disabled}
          onChange={(e) => set({ minQuality: (e.currentTarget as HTMLSelectElement).value || null })}
        >
          <option value="">any</option>
          {quality.values.map((v, i) => (
            <option key={v.value} value={v.value}>
              {i === 0 ? `${v.label} only` : `${v.value} or better`}
            </option>
          ))}
        </select>
      </label>
      <span class="inline grade-set" role="group" aria-label="Distinctiveness" data-testid={`${testIdPrefix}-distinctiveness`}>
        <span class="muted">distinctiveness</span>
        {gradeSpec("distinctiveness").values.map((v) => {
          const on = value.distinctiveness.includes(v.value);
          return (
            <button
              type="button"
              key={v.value}
              class={on ? "toggle on" : "toggle"}
              aria-pressed={on}
              title={v.label}
              disabled={disabled}
              data-testid={`${testIdPrefix}-distinctiveness-${v.value}`}
              onClick={() => toggle(v.value)}
            >
              {v.value}
            </button>
          );
        })}
      </span>
      {sideAndPart && single("side")}
      {sideAndPart && single("part")}
    </>
  );
}
