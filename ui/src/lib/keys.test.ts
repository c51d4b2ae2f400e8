import { describe, expect, it } from "vitest";
import type { GradeAttribute } from "./grades";
import { isTypingTarget, reviewKeyAction } from "./keys";

const k = (key: string, extra: Record<string, unknown> = {}, chord: GradeAttribute | null = null) =>
  reviewKeyAction({ key, target: { tagName: "BODY" }, ...extra }, chord);

describe("reviewKeyAction", () => {
  it("maps 1–5 to accepting that rank, and nothing for 0 or 6", () => {
    for (let r = 1; r <= 5; r++) expect(k(String(r))).toEqual({ type: "accept", rank: r });
    expect(k("0")).toBeNull();
    expect(k("6")).toBeNull();
  });
  it("maps the letter keys in either case", () => {
    expect(k("n")).toEqual({ type: "newIndividual" });
    expect(k("N")).toEqual({ type: "newIndividual" });
    expect(k("x")).toEqual({ type: "unidentifiable" });
    expect(k("s")).toEqual({ type: "skip" });
    expect(k("U")).toEqual({ type: "undo" });
    expect(k("p")).toEqual({ type: "sameAsPrevious" });
    expect(k("f")).toEqual({ type: "flip" });
    expect(k("ArrowLeft")).toEqual({ type: "prev" });
    expect(k("ArrowRight")).toEqual({ type: "next" });
    expect(k("Escape")).toEqual({ type: "cancel" });
    expect(k("z")).toBeNull();
    expect(k("Enter")).toBeNull();
  });
  it("ignores keys typed into text inputs, textareas, selects and editable content", () => {
    expect(k("1", { target: { tagName: "INPUT", type: "text" } })).toBeNull();
    expect(k("n", { target: { tagName: "input" } })).toBeNull(); // no type attribute means text
    expect(k("x", { target: { tagName: "INPUT", type: "search" } })).toBeNull();
    expect(k("u", { target: { tagName: "INPUT", type: "number" } })).toBeNull();
    expect(k("s", { target: { tagName: "TEXTAREA" } })).toBeNull();
    expect(k("2", { target: { tagName: "SELECT" } })).toBeNull();
    expect(k("p", { target: { tagName: "DIV", isContentEditable: true } })).toBeNull();
  });
  it("still acts when focus is on a button or checkbox", () => {
    expect(k("1", { target: { tagName: "BUTTON" } })).toEqual({ type: "accept", rank: 1 });
    expect(k("x", { target: { tagName: "INPUT", type: "checkbox" } })).toEqual({ type: "unidentifiable" });
  });
  it("leaves modifier chords to the webview", () => {
    expect(k("u", { ctrlKey: true })).toBeNull();
    expect(k("1", { metaKey: true })).toBeNull();
    expect(k("ArrowLeft", { altKey: true })).toBeNull();
  });
  it("does not repeat decisions on a held key, but lets arrows repeat", () => {
    expect(k("1", { repeat: true })).toBeNull();
    expect(k("x", { repeat: true })).toBeNull();
    expect(k("ArrowRight", { repeat: true })).toEqual({ type: "next" });
  });
});

describe("grade keys", () => {
  it("Q, D, V and T start a chord for quality, distinctiveness, side and body part", () => {
    expect(k("q")).toEqual({ type: "gradeChord", attribute: "quality" });
    expect(k("D")).toEqual({ type: "gradeChord", attribute: "distinctiveness" });
    expect(k("v")).toEqual({ type: "gradeChord", attribute: "side" });
    expect(k("t")).toEqual({ type: "gradeChord", attribute: "part" });
  });
  it("the chord's second key picks the value, and 0 clears it", () => {
    expect(k("2", {}, "quality")).toEqual({ type: "grade", attribute: "quality", value: "Q2" });
    expect(k("1", {}, "distinctiveness")).toEqual({ type: "grade", attribute: "distinctiveness", value: "D1" });
    expect(k("3", {}, "distinctiveness")).toEqual({ type: "grade", attribute: "distinctiveness", value: "D3" });
    expect(k("b", {}, "side")).toEqual({ type: "grade", attribute: "side", value: "both" });
    expect(k("U", {}, "side")).toEqual({ type: "grade", attribute: "side", value: "unknown" });
    expect(k("f", {}, "part")).toEqual({ type: "grade", attribute: "part", value: "dorsal-fin" });
    expect(k("k", {}, "part")).toEqual({ type: "grade", attribute: "part", value: "fluke" });
    expect(k("l", {}, "part")).toEqual({ type: "grade", attribute: "part", value: "flank" });
    expect(k("h", {}, "part")).toEqual({ type: "grade", attribute: "part", value: "head" });
    expect(k("o", {}, "part")).toEqual({ type: "grade", attribute: "part", value: "other" });
    expect(k("0", {}, "side")).toEqual({ type: "grade", attribute: "side", value: null });
  });
  it("inside a chord, decision keys do not decide: another key drops the chord, Esc cancels it", () => {
    expect(k("4", {}, "quality")).toEqual({ type: "gradeMiss", attribute: "quality" });
    expect(k("n", {}, "quality")).toEqual({ type: "gradeMiss", attribute: "quality" });
    expect(k("x", {}, "part")).toEqual({ type: "gradeMiss", attribute: "part" });
    expect(k("Escape", {}, "side")).toEqual({ type: "cancel" });
  });
  it("Shift on its way to a capital or a held key neither ends nor drops a chord", () => {
    expect(k("Shift", {}, "side")).toBeNull();
    expect(k("2", { repeat: true }, "quality")).toBeNull();
    expect(k("2", { ctrlKey: true }, "quality")).toBeNull();
  });
  it("L and R alone set the side left or right", () => {
    expect(k("l")).toEqual({ type: "grade", attribute: "side", value: "left" });
    expect(k("R")).toEqual({ type: "grade", attribute: "side", value: "right" });
  });
  it("keys typed into a field are text, chord or not", () => {
    expect(k("q", { target: { tagName: "INPUT", type: "text" } })).toBeNull();
    expect(k("2", { target: { tagName: "INPUT", type: "text" } }, "quality")).toBeNull();
  });
});

describe("isTypingTarget", () => {
  it("is false for missing or non-element targets", () => {
    expect(isTypingTarget(null)).toBe(false);
    expect(isTypingTarget(window_like())).toBe(false);
  });
  it("A and / search the catalogue, B draws a box, Delete removes the selected box", () => {
    expect(reviewKeyAction({ key: "a" })).toEqual({ type: "search" });
    expect(reviewKeyAction({ key: "/" })).toEqual({ type: "search" });
    expect(reviewKeyAction({ key: "B" })).toEqual({ type: "drawBox" });
    expect(reviewKeyAction({ key: "Delete" })).toEqual({ type: "deleteBox" });
    expect(reviewKeyAction({ key: "6" })).toBeNull();
  });
});

function window_like() {
  return {}; // window has no tagName
}
