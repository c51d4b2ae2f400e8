// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";

const api = vi.hoisted(() => ({ catalogueOpen: vi.fn(), catalogueCreate: vi.fn() }));
vi.mock("../ipc", async (orig) => ({ ...(await orig<typeof import("../ipc")>()), ...api }));

const { Welcome } = await import("./Welcome");

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

describe("Welcome", () => {
  it("says once, in the app's terms, that a folder is not a catalogue", async () => {
    const message =
      "/home/me/survey is not a WhaleID catalogue (no catalogue.sqlite). Open a catalogue folder, or create a new one.";
    api.catalogueOpen.mockRejectedValue({ kind: "catalogue", message });
    const onOpened = vi.fn();
    render(<Welcome onOpened={onOpened} />);
    fireEvent.input(screen.getByTestId("catalogue-path"), { target: { value: "/home/me/survey" } });
    fireEvent.click(screen.getByTestId("open-catalogue"));
    const line = await screen.findByTestId("welcome-error");
    expect(api.catalogueOpen).toHaveBeenCalledWith("/home/me/survey");
    expect(line.textContent).toBe(`Cannot use this folder: ${message}`);
    expect(line.textContent?.match(/not a WhaleID catalogue/g)).toHaveLength(1);
    expect(line.textContent).not.toMatch(/whaleid catalogue create|`/);
    expect(onOpened).not.toHaveBeenCalled();
  });

  it("shows why Create new refused a folder with photos in it", async () => {
    const message = "/media/card holds 21 photos; choose an empty folder for the new catalogue";
    api.catalogueCreate.mockRejectedValue({ kind: "catalogue", message });
    const onOpened = vi.fn();
    render(<Welcome onOpened={onOpened} />);
    fireEvent.input(screen.getByTestId("catalogue-path"), { target: { value: "/media/card" } });
    fireEvent.click(screen.getByTestId("create-catalogue"));
    const line = await screen.findByTestId("welcome-error");
    expect(api.catalogueCreate).toHaveBeenCalledWith("/media/card");
    expect(line.textContent).toBe(`Cannot use this folder: ${message}`);
    expect(onOpened).not.toHaveBeenCalled();
  });
});
