// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IndividualDetail } from "../../bindings/IndividualDetail";
import { NO_GRADES } from "../../lib/grades";

const api = vi.hoisted(() => ({
  individualGet: vi.fn(),
  individualUndo: vi.fn(),
  setAttributes: vi.fn(),
}));
vi.mock("../../ipc", async (orig) => ({ ...(await orig<typeof import("../../ipc")>()), ...api }));
const { IndividualPage } = await import("./IndividualPage");

/** What `individual_get` answers after tmp-1 was merged into BEL-1 and that merge undone. */
const detail: IndividualDetail = {
  summary: {
    id: 7, code: "BEL-1", name: null, species: "beluga", sightings: 1, firstSeen: "2024-06-01", lastSeen: "2024-06-01",
    representativeCrop: null, newSightings: 0,
  },
  sightings: [
    {
      detectionId: 146, photoId: 3, cropPath: null, photoPath: "/surveys/day 3/a.jpg", takenAt: "2024-06-01T10:00:00", latitude: null,
      longitude: null, encounterId: null, source: "person", decidedBy: "Kim Lee", score: 0.8, grades: NO_GRADES,
    },
  ],
  events: [
    { id: 1, kind: "merge", otherId: 7, createdAt: "2024-07-01T08:00:00", undone: true, undoable: false, by: "Kim Lee", summary: "tmp-1 merged into BEL-1" },
    { id: 2, kind: "unmerge", otherId: 7, createdAt: "2024-07-01T08:01:00", undone: false, undoable: false, by: "Kim Lee", summary: "merge of tmp-1 into BEL-1 undone" },
    { id: 3, kind: "rename", otherId: null, createdAt: "2024-07-01T08:02:00", undone: false, undoable: true, by: null, summary: "renamed B1 to BEL-1" },
  ],
};

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

describe("IndividualPage", () => {
  it("names individuals by code in the history, offers Undo only where it can be undone, and shows who decided", async () => {
    api.individualGet.mockResolvedValue(detail);
    render(<IndividualPage id={7} onBack={() => {}} onOpen={() => {}} onChanged={() => {}} />);
    await waitFor(() => expect(screen.getAllByTestId("individual-event")).toHaveLength(3));
    const [merge, unmerge, rename] = screen.getAllByTestId("individual-event");
    expect(merge.textContent).toContain("tmp-1 merged into BEL-1");
    expect(merge.textContent).toContain("by Kim Lee");
    expect(merge.textContent).not.toMatch(/#\d/);
    expect(merge.textContent).toContain("undone");
    expect(merge.querySelector("[data-testid=event-undo]")).toBeNull();
    // The undo of a merge has no Undo of its own.
    expect(unmerge.textContent).toContain("merge of tmp-1 into BEL-1 undone");
    expect(unmerge.querySelector("[data-testid=event-undo]")).toBeNull();
    expect(rename.querySelector("[data-testid=event-undo]")).not.toBeNull();
    expect(screen.getByTestId("sighting-by").textContent).toBe("Kim Lee");
    // Each sighting names its photo: file, folder and the detection's number.
    const file = screen.getByTestId("sighting-file");
    expect(file.textContent).toContain("a.jpg");
    expect(file.textContent).toContain("day 3");
    expect(file.textContent).toContain("#146");
    expect(file.getAttribute("title")).toBe("/surveys/day 3/a.jpg");
    // Made here: no account beside the names.
    expect(screen.queryByTestId("author-account")).toBeNull();
  });

  it("shows the server account that pushed a received decision or merge beside the author it claims", async () => {
    const received: IndividualDetail = {
      ...detail,
      sightings: [
        // Pushed with Mallory's token by a laptop that calls itself Kim Lee.
        { ...detail.sightings[0], detectionId: 146, decidedBy: "Kim Lee", decidedByAccount: "mallory" },
        // Pushed by Cai as himself: named once.
        { ...detail.sightings[0], detectionId: 147, decidedBy: "cai", decidedByAccount: "cai" },
        // Decided on this laptop.
        { ...detail.sightings[0], detectionId: 148, decidedBy: "Ben" },
      ],
      events: [{ ...detail.events[0], undone: false, byAccount: "mallory" }],
    };
    api.individualGet.mockResolvedValue(received);
    render(<IndividualPage id={7} onBack={() => {}} onOpen={() => {}} onChanged={() => {}} />);
    await waitFor(() => expect(screen.getAllByTestId("sighting-by")).toHaveLength(3));
    const by = screen.getAllByTestId("sighting-by").map((b) => b.textContent);
    expect(by).toEqual(["Kim Lee (account mallory)", "cai", "Ben"]);
    expect(screen.getAllByTestId("author-account")).toHaveLength(2);
    expect(screen.getByTestId("individual-event").textContent).toContain("by Kim Lee (account mallory)");
  });

  it("shows each photo's grades under its thumbnail and sets or clears one from the page", async () => {
    const graded: IndividualDetail = {
      ...detail,
      sightings: [
        { ...detail.sightings[0], detectionId: 146, grades: { ...NO_GRADES, quality: "Q2", side: "left" } },
        { ...detail.sightings[0], detectionId: 147, takenAt: "2024-06-02T10:00:00" },
      ],
    };
    api.individualGet.mockResolvedValue(graded);
    api.setAttributes.mockResolvedValue({ ...NO_GRADES, part: "fluke" });
    render(<IndividualPage id={7} onBack={() => {}} onOpen={() => {}} onChanged={() => {}} />);
    await waitFor(() => expect(screen.getAllByTestId("sighting")).toHaveLength(2));
    const [first, second] = screen.getAllByTestId("sighting");
    expect(within(first).getByTestId("grade-summary").textContent).toBe("Q2left");
    expect(within(first).getByTestId("grade-summary-quality").getAttribute("title")).toBe("Quality Q2");
    expect(within(second).getByTestId("grade-summary").textContent).toBe("ungraded");
    // No editor until asked for, then one for that photo alone.
    expect(screen.queryByTestId("sighting-grade-editor")).toBeNull();
    fireEvent.click(within(second).getByTestId("sighting-grade-edit"));
    const editor = screen.getByTestId("sighting-grade-editor");
    expect(editor.getAttribute("data-detection-id")).toBe("147");
    fireEvent.click(within(editor).getByTestId("grade-part-fluke"));
    await waitFor(() => expect(within(second).getByTestId("grade-summary").textContent).toBe("fluke"));
    expect(api.setAttributes).toHaveBeenCalledWith(147, [{ attribute: "part", value: "fluke" }]);
    expect(within(editor).getByTestId("grade-part-fluke").getAttribute("aria-pressed")).toBe("true");
    // The other photo keeps its grades; a click on the pressed chip clears.
    expect(within(first).getByTestId("grade-summary").textContent).toBe("Q2left");
    api.setAttributes.mockResolvedValue(NO_GRADES);
    fireEvent.click(within(editor).getByTestId("grade-part-fluke"));
    await waitFor(() => expect(within(second).getByTestId("grade-summary").textContent).toBe("ungraded"));
    expect(api.setAttributes).toHaveBeenLastCalledWith(147, [{ attribute: "part", value: null }]);
  });

  it("a refused grade shows the error and changes nothing shown", async () => {
    api.individualGet.mockResolvedValue(detail);
    api.setAttributes.mockRejectedValue({ kind: "invalid", message: "detection #146 was removed: restore it before grading it" });
    render(<IndividualPage id={7} onBack={() => {}} onOpen={() => {}} onChanged={() => {}} />);
    fireEvent.click(await screen.findByTestId("sighting-grade-edit"));
    fireEvent.click(screen.getByTestId("grade-quality-Q1"));
    await waitFor(() => expect(document.body.textContent).toContain("restore it before grading it"));
    expect(screen.getByTestId("grade-summary").textContent).toBe("ungraded");
  });
});
