/**
 * Review keyboard map. The review screen listens on `window`, so the mapping
 * must ignore keys typed into inputs (the new-individual code prompt, the
 * catalogue search) and chords that belong to the webview (Ctrl+R, Cmd+C).
 *
 * Grades are two-key chords: Q, D, V (side) or T (body part), then the
 * value's key from `GRADE_SPECS` (Q then 2 is quality Q2; 0 clears). L and
 * R alone set the side left or right, the commonest grades of all.
 */
import { CLEAR_KEY, GRADE_SPECS, gradeAlone, gradeSpec, type GradeAttribute } from "./grades";

export type ReviewKeyAction =
  | { type: "accept"; rank: number }
  | { type: "newIndividual" }
  | { type: "unidentifiable" }
  | { type: "skip" }
  | { type: "undo" }
  | { type: "prev" }
  | { type: "next" }
  | { type: "sameAsPrevious" }
  | { type: "flip" }
  | { type: "search" }
  | { type: "drawBox" }
  | { type: "deleteBox" }
  | { type: "cancel" }
  /** The first key of a grade chord: the next key picks the value. */
  | { type: "gradeChord"; attribute: GradeAttribute }
  /** Set a grade; `value: null` clears it. */
  | { type: "grade"; attribute: GradeAttribute; value: string | null }
  /** A chord's second key that is no value of it: the chord is dropped. */
  | { type: "gradeMiss"; attribute: GradeAttribute };

/** The subset of KeyboardEvent the mapping reads, so tests need no DOM. */
export type KeyLike = {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  repeat?: boolean;
  target?: unknown;
};

/** True for elements where a key press is text entry rather than a command. */
export function isTypingTarget(target: unknown): boolean {
  if (!target || typeof target !== "object") return false;
  const el = target as { tagName?: string; isContentEditable?: boolean; type?: string };
  if (el.isContentEditable) return true;
  const tag = (el.tagName ?? "").toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    // Buttons dressed as inputs do not take text.
    const t = (el.type ?? "text").toLowerCase();
    return !["button", "submit", "reset", "checkbox", "radio", "range", "color", "file"].includes(t);
  }
  return false;
}

/** Keys that only modify the next one: they neither finish nor drop a chord. */
const MODIFIERS = new Set(["Shift", "Control", "Alt", "Meta", "CapsLock", "AltGraph"]);

/**
 * The action for a key press; `chord` is the attribute whose chord waits for
 * its second key (after Q, D, V or T), else null.
 */
export function reviewKeyAction(e: KeyLike, chord: GradeAttribute | null = null): ReviewKeyAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (isTypingTarget(e.target)) return null;
  const k = e.key;
  if (chord) return chordEnd(chord, e);
  // Holding a decision key must not decide a run of photos.
  if (e.repeat && k !== "ArrowLeft" && k !== "ArrowRight") return null;
  if (/^[1-5]$/.test(k)) return { type: "accept", rank: Number(k) };
  switch (k.length === 1 ? k.toLowerCase() : k) {
    case "n":
      return { type: "newIndividual" };
    case "x":
      return { type: "unidentifiable" };
    case "s":
      return { type: "skip" };
    case "u":
      return { type: "undo" };
    case "p":
      return { type: "sameAsPrevious" };
    case "f":
      return { type: "flip" };
    case "a":
    case "/":
      return { type: "search" };
    case "b":
      return { type: "drawBox" };
    case "Delete":
      return { type: "deleteBox" };
    case "ArrowLeft":
      return { type: "prev" };
    case "ArrowRight":
      return { type: "next" };
    case "Escape":
      return { type: "cancel" };
    default: {
      const lower = k.toLowerCase();
      const alone = gradeAlone(lower);
      if (alone) return { type: "grade", ...alone };
      const spec = GRADE_SPECS.find((s) => s.prefix === lower);
      return spec ? { type: "gradeChord", attribute: spec.attribute } : null;
    }
  }
}

/** The second key of a chord: a value, 0 to clear, Esc to cancel; anything else drops it. */
function chordEnd(attribute: GradeAttribute, e: KeyLike): ReviewKeyAction | null {
  if (MODIFIERS.has(e.key) || e.repeat) return null;
  if (e.key === "Escape") return { type: "cancel" };
  const k = e.key.toLowerCase();
  if (k === CLEAR_KEY) return { type: "grade", attribute, value: null };
  const v = gradeSpec(attribute).values.find((x) => x.key === k);
  return v ? { type: "grade", attribute, value: v.value } : { type: "gradeMiss", attribute };
}
