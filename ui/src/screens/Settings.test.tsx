// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Settings } from "../bindings/Settings";

const api = vi.hoisted(() => ({
  settingsGet: vi.fn(),
  settingsSet: vi.fn(),
  observerGet: vi.fn(),
  observerSet: vi.fn(),
  aboutGet: vi.fn(() => new Promise(() => {})),
  diagnosticsGet: vi.fn(),
  diagnosticsCopy: vi.fn(),
}));
vi.mock("../ipc", async (orig) => ({ ...(await orig<typeof import("../ipc")>()), ...api }));
const { SettingsScreen } = await import("./Settings");

const settings: Settings = {
  cataloguePath: "/w/cat",
  pack: null,
  providers: { available: ["CPU"], used: ["CPU"] },
  threads: 4,
  threshold: 0.45,
  thresholdSource: "calibrated",
  calibration: null,
  newShare: 0.15,
  newShareSource: "15% new, the default",
  reranked: null,
};

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

const value = (id: string) => (screen.getByTestId(id) as HTMLInputElement).value;

describe("Settings", () => {
  it("keeps a threshold typed before the settings finished loading (the load race)", async () => {
    const load = deferred<Settings>();
    const name = deferred<string | null>();
    api.settingsGet.mockReturnValue(load.promise);
    api.observerGet.mockReturnValue(name.promise);
    api.settingsSet.mockImplementation(async (_t: number | null, th: number | null) => ({
      ...settings,
      threshold: th ?? settings.threshold,
      thresholdSource: "set",
    }));
    render(<SettingsScreen onChanged={() => {}} />);
    fireEvent.input(screen.getByTestId("settings-threshold"), { target: { value: "0.6" } });
    fireEvent.input(screen.getByTestId("settings-observer"), { target: { value: "Ana" } });
    load.resolve(settings);
    name.resolve("Kim");
    await waitFor(() => expect(value("settings-threads")).toBe("4"));
    await waitFor(() => expect(api.observerGet).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 0));
    // What the user typed stays; the untouched fields are filled.
    expect(value("settings-threshold")).toBe("0.6");
    expect(value("settings-observer")).toBe("Ana");
    expect(value("settings-new-share")).toBe("15");
    fireEvent.click(screen.getByTestId("settings-save"));
    await waitFor(() => expect(api.settingsSet).toHaveBeenCalledWith(4, 0.6, null));
    // After a save the fields show what was saved.
    await waitFor(() => expect(value("settings-threshold")).toBe("0.6"));
  });

  it("says what the models ran on, and warns when a GPU asked for was not used", async () => {
    api.observerGet.mockResolvedValue(null);
    api.settingsGet.mockResolvedValue(settings);
    render(<SettingsScreen onChanged={() => {}} />);
    await waitFor(() => expect(value("settings-threads")).toBe("4"));
    // Before an ingest opened the models there is nothing to say.
    expect(screen.queryByTestId("settings-ran-on")).toBeNull();
    expect(screen.queryByTestId("settings-gpu-fallback")).toBeNull();
    cleanup();

    const why = "CUDA not available: Failed to load library libonnxruntime_providers_cuda.so with error: libcuda.so.1";
    api.settingsGet.mockResolvedValue({
      ...settings,
      providers: { available: ["cpu", "cuda"], used: ["cpu"], ranOn: "CPU", gpuFallback: why },
    });
    render(<SettingsScreen onChanged={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("settings-ran-on").textContent).toBe("Ran on: CPU"));
    const warning = screen.getByTestId("settings-gpu-fallback");
    expect(warning.getAttribute("role")).toBe("alert");
    expect(warning.textContent).toBe(`Warning: ${why}; the models ran on the CPU.`);
    cleanup();

    api.settingsGet.mockResolvedValue({
      ...settings,
      providers: { available: ["cpu", "cuda"], used: ["cuda"], ranOn: "CUDA (NVIDIA H200)" },
    });
    render(<SettingsScreen onChanged={() => {}} />);
    await waitFor(() =>
      expect(screen.getByTestId("settings-ran-on").textContent).toBe("Ran on: CUDA (NVIDIA H200)"),
    );
    expect(screen.queryByTestId("settings-gpu-fallback")).toBeNull();
  });

  it("shows the observer name and saves a new one", async () => {
    api.settingsGet.mockResolvedValue(settings);
    api.observerGet.mockResolvedValue("Kim");
    api.observerSet.mockResolvedValue("Kim Lee");
    render(<SettingsScreen onChanged={() => {}} />);
    await waitFor(() => expect(value("settings-observer")).toBe("Kim"));
    fireEvent.input(screen.getByTestId("settings-observer"), { target: { value: " Kim Lee " } });
    fireEvent.click(screen.getByTestId("settings-observer-save"));
    await waitFor(() => expect(api.observerSet).toHaveBeenCalledWith(" Kim Lee "));
    await waitFor(() => expect(value("settings-observer")).toBe("Kim Lee"));
  });
});
