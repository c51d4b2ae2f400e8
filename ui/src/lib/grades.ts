/**
 * Photo-ID grades of a detection (issue 16): photo quality Q1–Q3 and
 * distinctiveness D1–D3 after Urian et al. 2015, the side shown and the body
 * part shown. One table of attributes, values and their keys, read by the
 * Review keymap and by the chips that show and set the grades.
 */
import type { AttributeChange } from "../bindings/AttributeChange";
import type { Grades } from "../bindings/Grades";

export type GradeAttribute = AttributeChange["attribute"];

/**
 * `key`: the value's key after the chord's first; `alone`: a key that sets
 * it by itself; `chip`: the chip's text where shorter than the value (the
 * test ids keep the value).
 */
export type GradeValue = { value: string; label: string; key: string; alone?: string; chip?: string };

export type GradeSpec = {
  attribute: GradeAttribute;
  label: string;
  /** The key that starts this attribute's two-key chord in Review. */
  prefix: string;
  values: GradeValue[];
};

/** In the order the chips show them. Within a chord, `0` clears. */
export const GRADE_SPECS: GradeSpec[] = [
  {
    attribute: "quality",
    label: "Quality",
    prefix: "q",
    values: [
      { value: "Q1", label: "Q1 excellent", key: "1" },
      { value: "Q2", label: "Q2 good", key: "2" },
      { value: "Q3", label: "Q3 poor", key: "3" },
    ],
  },
  {
    attribute: "distinctiveness",
    label: "Distinctiveness",
    prefix: "d",
    values: [
      { value: "D1", label: "D1 very distinctive", key: "1" },
      { value: "D2", label: "D2 average", key: "2" },
      { value: "D3", label: "D3 low or clean", key: "3" },
    ],
  },
  {
    attribute: "side",
    label: "Side",
    prefix: "v",
    values: [
      { value: "left", label: "left", key: "l", alone: "l" },
      { value: "right", label: "right", key: "r", alone: "r" },
      { value: "both", label: "both", key: "b" },
      { value: "unknown", label: "unknown", key: "u" },
    ],
  },
  {
    attribute: "part",
    label: "Part",
    prefix: "t",
    values: [
      { value: "dorsal-fin", label: "dorsal fin", key: "f", chip: "fin" },
      { value: "fluke", label: "fluke", key: "k" },
      { value: "flank", label: "flank", key: "l" },
      { value: "head", label: "head", key: "h" },
      { value: "other", label: "other", key: "o" },
    ],
  },
];

/** The grade a key sets by itself (L, R), if any. */
export function gradeAlone(key: string): { attribute: GradeAttribute; value: string } | null {
  for (const s of GRADE_SPECS) {
    const v = s.values.find((x) => x.alone === key);
    if (v) return { attribute: s.attribute, value: v.value };
  }
  return null;
}

/** Within a chord, this key clears the attribute (back to not graded). */
export const CLEAR_KEY = "0";

export function gradeSpec(attribute: GradeAttribute): GradeSpec {
  return GRADE_SPECS.find((s) => s.attribute === attribute)!;
}

export const NO_GRADES: Grades = { quality: null, distinctiveness: null, side: null, part: null };

/** The status line after a grade is set: "Quality Q2 · #123", "Side cleared · #7". */
export function gradeStatus(attribute: GradeAttribute, value: string | null, detectionId: number): string {
  return `${gradeSpec(attribute).label} ${value ?? "cleared"} · #${detectionId}`;
}

/** What the status line says while a chord waits for its second key. */
export function chordHint(attribute: GradeAttribute): string {
  const s = gradeSpec(attribute);
  const keys = s.values.map((v) => `${v.key.toUpperCase()} ${v.value}`).join(" · ");
  return `${s.label}: ${keys} · 0 clears · Esc cancels`;
}
