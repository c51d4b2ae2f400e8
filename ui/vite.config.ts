/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// Tauri serves ui/dist from its own protocol and runs `vite` on a fixed port
// in development; WebKitGTK (Linux) and WKWebView (macOS) are the oldest
// engines we ship on, hence the Safari target.
export default defineConfig({
  plugins: [preact()],
  base: "./",
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  envPrefix: ["VITE_", "TAURI_ENV_"],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari15",
    sourcemap: false,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
