/**
 * Shell: header with the open catalogue, a left nav, and one screen at a
 * time. Holds the catalogue info (refreshed after imports and decisions) and
 * routes files dropped anywhere on the window to the Import screen.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import type { CatalogueInfo } from "./bindings/CatalogueInfo";
import { catalogueCurrent, observerGet, onDropPaths } from "./ipc";
import { ObserverPrompt } from "./components/ObserverPrompt";
import { isActive, ingestStore, onIngestEnd, startIngest } from "./state/ingest";
import { onSyncEnd } from "./state/sync";
import { onTrainEnd } from "./state/train";
import { useStore } from "./state/store";
import { Welcome } from "./screens/Welcome";
import { ImportScreen } from "./screens/Import";
import { ReviewScreen } from "./screens/Review";
import { CatalogueScreen } from "./screens/Catalogue";
import { SettingsScreen } from "./screens/Settings";
import { TrainScreen } from "./screens/Train";
import { SyncScreen } from "./screens/Sync";
import { ExportScreen } from "./screens/Export";
import { SecondReviewScreen } from "./screens/review/SecondReview";
import { fraction } from "./lib/format";

export type Screen = "import" | "review" | "second" | "catalogue" | "train" | "sync" | "settings" | "export";

const NAV: { id: Screen; label: string }[] = [
  { id: "import", label: "Import" },
  { id: "review", label: "Review" },
  { id: "second", label: "Second review" },
  { id: "catalogue", label: "Catalogue" },
  { id: "train", label: "Train" },
  { id: "sync", label: "Sync" },
  { id: "settings", label: "Settings" },
  { id: "export", label: "Export" },
];

export function App() {
  const [info, setInfo] = useState<CatalogueInfo | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [switching, setSwitching] = useState(false);
  const [screen, setScreen] = useState<Screen>("import");
  const [dragOver, setDragOver] = useState(false);
  const ingest = useStore(ingestStore);
  /** Ask for the observer name once, when none was chosen (not even in
   * the open catalogue); "Later" skips it for this session. */
  const [askObserver, setAskObserver] = useState(false);
  const [observerPutOff, setObserverPutOff] = useState(false);
  /** The backup of the upgrade notice the user dismissed. */
  const [upgradeSeen, setUpgradeSeen] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setInfo(await catalogueCurrent());
    } catch {
      /* keep what we had; the screens report their own errors */
    }
  }, []);

  useEffect(() => {
    catalogueCurrent()
      .then(setInfo)
      .catch(() => setInfo(null))
      .finally(() => setLoaded(true));
  }, []);

  useEffect(() => {
    if (!loaded || observerPutOff) return;
    let stale = false;
    observerGet()
      .then((name) => !stale && setAskObserver(name == null))
      .catch(() => !stale && setAskObserver(false));
    return () => {
      stale = true;
    };
  }, [loaded, info?.path, observerPutOff]);

  useEffect(() => onIngestEnd(() => void refresh()), [refresh]);
  // An adopted version changes the pack shown in the header.
  useEffect(() => onTrainEnd(() => void refresh()), [refresh]);
  // Pulled photos, identifications and merges change the header's counts.
  useEffect(() => onSyncEnd(() => void refresh()), [refresh]);

  const hasCatalogue = info != null && !switching;
  useEffect(() => {
    let unlisten: (() => void) | null = null;
    let gone = false;
    onDropPaths({
      hover: setDragOver,
      drop: (paths) => {
        if (!hasCatalogue) return;
        setScreen("import");
        void startIngest(paths);
      },
    }).then((u) => (gone ? u() : (unlisten = u)));
    return () => {
      gone = true;
      unlisten?.();
    };
  }, [hasCatalogue]);

  const opened = (ci: CatalogueInfo) => {
    setInfo(ci);
    setSwitching(false);
    setScreen(ci.photos === 0 ? "import" : ci.toReview > 0 ? "review" : "catalogue");
  };

  const showWelcome = !hasCatalogue && screen !== "settings";
  const job = ingest.progress;

  return (
    <div class={`app ${dragOver && hasCatalogue ? "drag-over" : ""}`}>
      <header class="topbar">
        <span class="brand">WhaleID</span>
        {info && !switching ? (
          <>
            <span class="catalogue-name" data-testid="catalogue-name" title={info.path}>
              {info.name}
            </span>
            <span class="counts">
              {info.photos} photos · {info.individuals} individuals · {info.toReview} to review
              {info.pack ? ` · ${info.pack.name} ${info.pack.version}` : " · no model pack"}
            </span>
            <button type="button" class="link" onClick={() => setSwitching(true)}>
              Switch catalogue
            </button>
          </>
        ) : (
          <span class="catalogue-name muted" data-testid="catalogue-name">
            {loaded ? "no catalogue open" : "…"}
          </span>
        )}
      </header>
      <nav class="sidenav" aria-label="Screens">
        {NAV.map((n) => (
          <button
            type="button"
            key={n.id}
            data-testid={`nav-${n.id}`}
            class={screen === n.id ? "active" : ""}
            aria-current={screen === n.id ? "page" : undefined}
            onClick={() => setScreen(n.id)}
          >
            <span>{n.label}</span>
            {n.id === "review" && info && info.toReview > 0 && <span class="badge">{info.toReview}</span>}
            {n.id === "import" && isActive(ingest.phase) && job && (
              <span class="badge">{Math.floor(fraction(job.done, job.total) * 100)}%</span>
            )}
          </button>
        ))}
      </nav>
      <main class="content">
        {info?.upgraded && !switching && upgradeSeen !== info.upgraded.backup && (
          <div class="notice upgraded" role="status" data-testid="upgrade-notice">
            <span>
              This catalogue was made by an older WhaleID and has been upgraded (schema {info.upgraded.from} →{" "}
              {info.upgraded.to}). The file as it was is kept at{" "}
              <span class="path">{info.upgraded.backup}</span>.
            </span>
            <button type="button" onClick={() => setUpgradeSeen(info.upgraded?.backup ?? null)}>
              OK
            </button>
          </div>
        )}
        {!loaded ? null : showWelcome ? (
          <Welcome onOpened={opened} onCancel={info && switching ? () => setSwitching(false) : undefined} />
        ) : screen === "import" ? (
          <ImportScreen onReview={() => setScreen("review")} />
        ) : screen === "review" ? (
          <ReviewScreen onChanged={refresh} />
        ) : screen === "second" ? (
          <SecondReviewScreen onChanged={refresh} />
        ) : screen === "catalogue" ? (
          <CatalogueScreen onChanged={refresh} />
        ) : screen === "train" ? (
          <TrainScreen onChanged={refresh} />
        ) : screen === "sync" ? (
          <SyncScreen />
        ) : screen === "settings" ? (
          <SettingsScreen onChanged={refresh} />
        ) : (
          <ExportScreen />
        )}
      </main>
      {dragOver && hasCatalogue && <div class="drop-hint">Drop folders to import</div>}
      {askObserver && !observerPutOff && (
        <ObserverPrompt
          onSaved={() => setAskObserver(false)}
          onLater={() => {
            setAskObserver(false);
            setObserverPutOff(true);
          }}
        />
      )}
    </div>
  );
}
