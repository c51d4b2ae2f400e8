/**
 * The About panel at the foot of Settings: what this WhaleID is (version,
 * ONNX Runtime and its file, execution providers, the pack in use) and where
 * its files live (catalogue, preferences, log), and "Copy diagnostics", which
 * copies those facts with the log's last lines for a bug report.
 */
import { useEffect, useState } from "preact/hooks";
import type { AboutInfo } from "../bindings/AboutInfo";
import type { AppError } from "../bindings/AppError";
import { ErrorLine } from "../components/ErrorLine";
import { aboutGet, diagnosticsCopy, diagnosticsGet, toAppError } from "../ipc";

/** Put `text` on the clipboard from the page, where the webview allows it
 * (the app copies from Rust first; this is for where that is not built). */
async function copyFromPage(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function AboutPanel() {
  const [about, setAbout] = useState<AboutInfo | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  /** Shown to select by hand when the clipboard refused it. */
  const [text, setText] = useState<string | null>(null);

  useEffect(() => {
    aboutGet()
      .then(setAbout)
      .catch((e) => setError(toAppError(e)));
  }, []);

  const copy = async () => {
    setError(null);
    setCopied(null);
    setText(null);
    try {
      await diagnosticsCopy();
      setCopied("yes");
    } catch {
      // No clipboard from Rust here: try the page's, else show the text.
      try {
        const diagnostics = await diagnosticsGet();
        const ok = await copyFromPage(diagnostics);
        setCopied(ok ? "yes" : "no");
        if (!ok) setText(diagnostics);
      } catch (e) {
        setError(toAppError(e));
      }
    }
  };

  const providers = (list: string[]) => (list.length ? list.join(", ") : "none");
  return (
    <div class="panel" data-testid="about">
      <h2>About</h2>
      {about && (
        <dl class="kv">
          <dt>WhaleID</dt>
          <dd data-testid="about-version">{about.version}</dd>
          <dt>Runtime</dt>
          <dd>
            {about.onnxRuntime != null ? (
              <>
                ONNX Runtime {about.onnxRuntime} <span class="path">{about.onnxRuntimePath}</span>
              </>
            ) : (
              <span class="warn-text">ONNX Runtime not loaded: {about.onnxRuntimeError}</span>
            )}
          </dd>
          <dt>Providers</dt>
          <dd>
            in the library: {providers(about.providersInLibrary)} · in this build: {providers(about.providersInBuild)}
            {about.providersUsed.length > 0 && <> · last used: {providers(about.providersUsed)}</>}
          </dd>
          <dt>Model pack</dt>
          <dd>
            {about.pack ?? "none"} {about.packPath && <span class="path">{about.packPath}</span>}
          </dd>
          <dt>Catalogue</dt>
          <dd class="path">{about.catalogue ?? "none open"}</dd>
          <dt>Preferences</dt>
          <dd class="path">{about.preferences}</dd>
          <dt>Log</dt>
          <dd class="path" data-testid="about-log">
            {about.logFile ?? "not written (the log folder could not be opened)"}
          </dd>
        </dl>
      )}
      <div class="row">
        <button type="button" data-testid="about-copy" onClick={() => void copy()}>
          Copy diagnostics
        </button>
        {copied === "yes" && (
          <span class="muted" data-testid="about-copied" role="status">
            Copied: the facts above and the log's last lines, ready to paste into a bug report.
          </span>
        )}
        {copied === "no" && (
          <span class="muted" role="status">
            The clipboard is not available here: select the text below and copy it.
          </span>
        )}
      </div>
      {text != null && <textarea class="diagnostics" readonly rows={10} value={text} data-testid="about-text" />}
      <ErrorLine error={error} />
    </div>
  );
}
