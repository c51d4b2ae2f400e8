// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AgreementReportView } from "../../bindings/AgreementReportView";
import type { DisagreementItem } from "../../bindings/DisagreementItem";
import type { OpinionView } from "../../bindings/OpinionView";
import { reviewItem } from "../../testing/reviewItem";

const api = vi.hoisted(() => ({
  secondReviewRequired: vi.fn(),
  secondReviewQueue: vi.fn(),
  secondOpinion: vi.fn(),
  disagreementsList: vi.fn(),
  disagreementResolve: vi.fn(),
  agreementReport: vi.fn(),
}));
vi.mock("../../ipc", async (orig) => ({ ...(await orig<typeof import("../../ipc")>()), ...api }));
const { SecondReviewScreen } = await import("./SecondReview");

const opinion = (fields: Partial<OpinionView> & Pick<OpinionView, "round" | "by">): OpinionView => ({
  choice: "individual",
  individualId: null,
  code: null,
  at: "2026-12-03T10:00:00.000Z",
  ...fields,
});

/** Ana's first decision: W-FIRST. Never on the queue tab. */
const first = opinion({ round: 1, by: "Ana Ruiz", individualId: 7, code: "W-FIRST" });

const pending = reviewItem({
  detectionId: 3,
  suggestions: [
    {
      rank: 1,
      individualId: 7,
      code: "W-FIRST",
      name: null,
      species: null,
      score: 0.9,
      bestCrop: null,
      strip: [],
    },
    { rank: 2, individualId: 8, code: "W-OTHER", name: null, species: null, score: 0.7, bestCrop: null, strip: [] },
  ],
});

const disagreement: DisagreementItem = {
  detectionId: 5,
  photoPath: "/p/5.jpg",
  cropPath: null,
  first: { ...first },
  second: opinion({ round: 2, by: "Ben Ode", choice: "unidentifiable" }),
};

const report: AgreementReportView = {
  items: 5,
  agreed: 3,
  percent: 60,
  pairs: [
    { a: "Ana Ruiz", b: "Ben Ode", items: 4, agreed: 3, percent: 75, kappa: 2 / 3 },
    { a: "Ana Ruiz", b: "Cleo Park", items: 1, agreed: 0, percent: 0, kappa: null },
  ],
  grades: [
    { grade: "Q1", items: 2, agreed: 1, percent: 50 },
    { grade: "Q2", items: 1, agreed: 1, percent: 100 },
    { grade: "Q3", items: 0, agreed: 0, percent: null },
    { grade: "ungraded", items: 2, agreed: 1, percent: 50 },
  ],
};

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

function mockAll() {
  api.secondReviewRequired.mockResolvedValue(true);
  api.secondReviewQueue.mockResolvedValue({ required: true, reviewer: "Ben Ode", items: [pending] });
  api.disagreementsList.mockResolvedValue([disagreement]);
  api.agreementReport.mockResolvedValue(report);
}

describe("SecondReview", () => {
  it("shows the blind queue with nothing of any first decision until the opinion is given", async () => {
    mockAll();
    api.secondOpinion.mockResolvedValue({
      detectionId: 3,
      state: "disagreed",
      first: { ...first },
      second: opinion({ round: 2, by: "Ben Ode", individualId: 8, code: "W-OTHER" }),
    });
    render(<SecondReviewScreen />);
    const queue = await screen.findByTestId("second-review-queue");
    const items = await within(queue).findAllByTestId("second-review-item");
    expect(items).toHaveLength(1);
    // Blind: no first decider, and nothing from the disagreements or the
    // report (which hold first decisions) is even asked for.
    const text = document.body.textContent ?? "";
    expect(text).not.toContain("Ana");
    expect(text).not.toContain("First decision");
    expect(api.disagreementsList).not.toHaveBeenCalled();
    expect(api.agreementReport).not.toHaveBeenCalled();
    // Both suggestions are offered the same way: the first decision's
    // individual is not marked among them.
    const a = screen.getByTestId("opinion-individual-7");
    const b = screen.getByTestId("opinion-individual-8");
    expect(a.className).toBe(b.className);

    fireEvent.click(b);
    await waitFor(() => expect(api.secondOpinion).toHaveBeenCalledWith(3, "individual", 8));
    // Only now the first decision is told, and the item has left the queue.
    const said = await screen.findByTestId("second-review-said");
    expect(said.textContent).toContain("W-FIRST by Ana Ruiz");
    expect(said.textContent).toContain("disagreement list");
    expect(screen.queryAllByTestId("second-review-item")).toHaveLength(0);
  });

  it("switches the second reviewer on and off", async () => {
    mockAll();
    render(<SecondReviewScreen />);
    const box = (await screen.findByTestId("second-review-switch")) as HTMLInputElement;
    await waitFor(() => expect(box.checked).toBe(true));
    api.secondReviewRequired.mockResolvedValue(false);
    fireEvent.click(box);
    await waitFor(() => expect(api.secondReviewRequired).toHaveBeenLastCalledWith(false));
    await waitFor(() => expect(box.checked).toBe(false));
  });

  it("lists disagreements side by side and resolves with either opinion or a new code", async () => {
    mockAll();
    api.disagreementResolve.mockResolvedValue({
      detectionId: 5,
      action: "accept",
      individualId: 7,
      code: "W-FIRST",
      toReview: 0,
    });
    render(<SecondReviewScreen />);
    fireEvent.click(screen.getByTestId("second-review-tab-disagreements"));
    const list = await screen.findByTestId("disagreements");
    const row = await within(list).findByTestId("disagreement");
    const sides = within(row).getAllByTestId("opinion");
    expect(sides.map((s) => s.textContent)).toEqual([
      expect.stringContaining("W-FIRST by Ana Ruiz"),
      expect.stringContaining("not identifiable by Ben Ode"),
    ]);
    api.disagreementsList.mockResolvedValue([]);
    fireEvent.click(within(row).getByTestId("resolve-round-1"));
    await waitFor(() => expect(api.disagreementResolve).toHaveBeenCalledWith(5, "individual", 7, null, null));
    await waitFor(() => expect(screen.queryByTestId("disagreement")).toBeNull());

    api.disagreementsList.mockResolvedValue([disagreement]);
    cleanup();
    render(<SecondReviewScreen />);
    fireEvent.click(screen.getByTestId("second-review-tab-disagreements"));
    await screen.findByTestId("disagreement");
    expect((screen.getByTestId("resolve-new") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.input(screen.getByTestId("resolve-new-code"), { target: { value: " HW-9 " } });
    fireEvent.click(screen.getByTestId("resolve-new"));
    await waitFor(() => expect(api.disagreementResolve).toHaveBeenLastCalledWith(5, "new", null, "HW-9", null));
  });

  it("shows the agreement report per pair of people and per quality grade", async () => {
    mockAll();
    render(<SecondReviewScreen />);
    fireEvent.click(screen.getByTestId("second-review-tab-agreement"));
    const table = await screen.findByTestId("agreement-report");
    await within(table).findByTestId("agreement-summary");
    expect(screen.getByTestId("agreement-summary").textContent).toBe(
      "5 detections judged by two people, 3 agreed (60.0%)",
    );
    const pairs = within(table)
      .getAllByTestId("agreement-pair")
      .map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent));
    expect(pairs).toEqual([
      ["Ana Ruiz", "Ben Ode", "4", "3", "75.0%", "0.667"],
      ["Ana Ruiz", "Cleo Park", "1", "0", "0.0%", "–"],
    ]);
    const grades = within(table)
      .getAllByTestId("agreement-grade")
      .map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent));
    expect(grades[2]).toEqual(["Q3", "0", "0", "–"]);
    expect(grades[3]).toEqual(["ungraded", "2", "1", "50.0%"]);
  });
});
