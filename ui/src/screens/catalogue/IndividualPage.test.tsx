// @vitest-environment jsdom
import { cleanup, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IndividualDetail } from "../../bindings/IndividualDetail";
import { NO_GRADES } from "../../lib/grades";

const api = vi.hoisted(() => ({
  individualGet: vi.fn(),
  individualUndo: vi.fn(),
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
});
