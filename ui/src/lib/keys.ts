/**
 * Review keyboard map. The review screen listens on `window`, so the mapping
 * must ignore keys typed into inputs (the new-individual code prompt, the
 * catalogue search) and chords that belong to the webview (Ctrl+R, Cmd+C).
 */

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
  | { type: "cancel" };

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

export function reviewKeyAction(e: KeyLike): ReviewKeyAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (isTypingTarget(e.target)) return null;
  const k = e.key;
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
    default:
      return null;
  }
}
