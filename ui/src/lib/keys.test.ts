import { describe, expect, it } from "vitest";
import { isTypingTarget, reviewKeyAction } from "./keys";

const k = (key: string, extra: Record<string, unknown> = {}) => reviewKeyAction({ key, target: { tagName: "BODY" }, ...extra });

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
    expect(k("q")).toBeNull();
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
