// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import { reviewItem } from "../../testing/reviewItem";
import { PhotoBox, type PhotoBoxEntry } from "./PhotoBox";

const item = reviewItem({
  detectionId: 1,
  photoId: 1,
  photoPath: "/s/1.jpg",
  photoWidth: 400,
  photoHeight: 300,
  box: [10, 20, 110, 120],
  threshold: 0.65,
});

afterEach(cleanup);

describe("PhotoBox", () => {
  it("names who drew each box, with the server account that sent a received one when it is another name", () => {
    const boxes: PhotoBoxEntry[] = [
      { detectionId: 1, box: [10, 20, 110, 120], drawnBy: null },
      // Drawn on a laptop that calls itself Kim Lee, pushed with Mallory's token.
      { detectionId: 2, box: [150, 20, 250, 120], drawnBy: "Kim Lee", drawnByAccount: "mallory" },
      // Pushed by Cai as himself.
      { detectionId: 3, box: [260, 20, 300, 120], drawnBy: "cai", drawnByAccount: "cai" },
      // Drawn here.
      { detectionId: 4, box: [10, 150, 110, 250], drawnBy: "Ben" },
    ];
    render(
      <PhotoBox
        item={item}
        boxes={boxes}
        drawing={false}
        selected={null}
        onSelect={() => {}}
        onDrawn={() => {}}
        onChanged={() => {}}
      />,
    );
    const titles = screen.getAllByTestId("det-box").map((b) => b.querySelector("title")?.textContent);
    expect(titles).toEqual([
      "#1 · detector",
      "#2 · drawn by Kim Lee (account mallory)",
      "#3 · drawn by cai",
      "#4 · drawn by Ben",
    ]);
  });
});
