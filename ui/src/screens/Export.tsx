/**
 * Export: the catalogue's sightings as CSV or a Kaggle submission file, and
 * the publication formats researchers hand their data to (issue 16): a
 * Darwin Core Archive for OBIS and GBIF, the Wildbook/Flukebook bulk-import
 * sheet, MARK capture histories and SOCPROG tables, each of the identified
 * sightings one filter keeps. A publication export says what it wrote and
 * lists the sightings it left out, with the reason.
 */
import { useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { DwcaDataset } from "../bindings/DwcaDataset";
import type { ExportResult } from "../bindings/ExportResult";
import type { MarkChoices } from "../bindings/MarkChoices";
import type { PublishFilter } from "../bindings/PublishFilter";
import type { PublishResult } from "../bindings/PublishResult";
import { ErrorLine } from "../components/ErrorLine";
import { ANY_GRADE, GradeFilter, type GradeChoice } from "../components/GradeFilter";
import { PathField } from "../components/PathField";
import {
  exportCsv,
  exportDwca,
  exportKaggle,
  exportMark,
  exportSocprog,
  exportWildbook,
  pickSaveFile,
  toAppError,
} from "../ipc";
import { plural } from "../lib/format";

type Format = "dwca" | "wildbook" | "mark" | "socprog";

const FORMATS: Record<Format, { name: string; file: string; about: string }> = {
  dwca: {
    name: "Darwin Core Archive",
    file: "occurrences.zip",
    about:
      "For OBIS and GBIF: one occurrence per identified sighting, with its photo. Sightings without a date or a position are left out and listed, never guessed.",
  },
  wildbook: {
    name: "Wildbook sheet",
    file: "wildbook-bulk-import.csv",
    about: "The Wildbook/Flukebook bulk-import sheet: one encounter row per identified sighting.",
  },
  mark: {
    name: "MARK histories",
    file: "histories.inp",
    about: "Capture histories for program MARK: one line per individual, a 0/1 history over the occasions.",
  },
  socprog: {
    name: "SOCPROG tables",
    file: "sightings.csv",
    about: "SOCPROG's sightings table, and its table of individuals written beside it (NAME-individuals.csv).",
  },
};

const LICENCES: DwcaDataset["licence"][] = ["CC-BY-4.0", "CC0-1.0", "CC-BY-NC-4.0"];

/** How many left-out sightings are listed; the count says how many more. */
const LEFT_OUT_SHOWN = 5;

type Survey = { from: string; to: string };

export function ExportScreen() {
  const [path, setPath] = useState("");
  const [result, setResult] = useState<{ kind: string; r: ExportResult } | null>(null);
  const [published, setPublished] = useState<{ format: Format; r: PublishResult } | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  /** Which panel the last action, and so its error, belongs to. */
  const [last, setLast] = useState<"files" | "publish">("files");

  const [format, setFormat] = useState<Format>("dwca");
  const [species, setSpecies] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [grades, setGrades] = useState<GradeChoice>(ANY_GRADE);
  const [dataset, setDataset] = useState<DwcaDataset>({ title: "", contact: "", licence: "CC-BY-4.0" });
  const [occasions, setOccasions] = useState<MarkChoices["occasions"]>("days");
  const [surveys, setSurveys] = useState<Survey[]>([{ from: "", to: "" }]);
  const [groups, setGroups] = useState<MarkChoices["groups"]>(null);
  const [comments, setComments] = useState(true);

  /** The path typed, else one chosen in the save dialog; `null` when the dialog was closed. */
  const target = async (suggested: string): Promise<string | null> => {
    const p = path.trim();
    if (p) return p;
    const chosen = await pickSaveFile(suggested);
    if (chosen) setPath(chosen);
    return chosen;
  };

  const go = async (write: (p: string) => Promise<void>, suggested: string, from: "files" | "publish") => {
    setLast(from);
    setError(null);
    setResult(null);
    setPublished(null);
    try {
      const p = await target(suggested);
      if (!p) return;
      setBusy(true);
      await write(p);
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  const run = (kind: "CSV" | "Kaggle submission", f: (p: string) => Promise<ExportResult>, suggested: string) =>
    go(async (p) => setResult({ kind, r: await f(p) }), suggested, "files");

  const filter = (): PublishFilter => ({
    species: species
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    from: from || null,
    to: to || null,
    minQuality: grades.minQuality as PublishFilter["minQuality"],
    distinctiveness: grades.distinctiveness as PublishFilter["distinctiveness"],
  });

  const publish = () =>
    go(async (p) => {
      const f = filter();
      const write: Record<Format, () => Promise<PublishResult>> = {
        dwca: () => exportDwca(p, f, { ...dataset, title: dataset.title.trim(), contact: dataset.contact.trim() }),
        wildbook: () => exportWildbook(p, f),
        mark: () =>
          exportMark(p, f, {
            occasions,
            surveys: occasions === "surveys" ? surveys.filter((s) => s.from || s.to) : [],
            groups,
            comments,
          }),
        socprog: () => exportSocprog(p, f),
      };
      setPublished({ format, r: await write[format]() });
    }, FORMATS[format].file, "publish");

  const setSurvey = (i: number, patch: Partial<Survey>) =>
    setSurveys((all) => all.map((s, j) => (j === i ? { ...s, ...patch } : s)));

  return (
    <section class="export">
      <h1>Export</h1>
      <div class="panel">
        <PathField
          label="Save to"
          value={path}
          onInput={setPath}
          inputTestId="export-path"
          pickTestId="export-pick"
          pick={{ save: "whaleid-export.csv" }}
          onError={setError}
          placeholder="/home/me/whales/export.csv"
        />
        <div class="row">
          <button type="button" class="primary" data-testid="export-csv" disabled={busy} onClick={() => run("CSV", exportCsv, "whaleid-export.csv")}>
            Export CSV
          </button>
          <button
            type="button"
            data-testid="export-kaggle"
            disabled={busy}
            onClick={() => run("Kaggle submission", exportKaggle, "submission.csv")}
          >
            Export Kaggle submission
          </button>
        </div>
        <p class="muted">With no path, each button asks where to save. CSV and Kaggle files hold every detection.</p>
        {last === "files" && <ErrorLine error={error} />}
        {result && (
          <p class="result" data-testid="export-result">
            {result.kind}: wrote {plural(result.r.rows, "row")} to <span class="path">{result.r.path}</span>
          </p>
        )}
      </div>

      <div class="panel">
        <h2>Publication formats</h2>
        <div class="row" role="group" aria-label="Format">
          {(Object.keys(FORMATS) as Format[]).map((f) => (
            <button
              type="button"
              key={f}
              class={f === format ? "toggle on" : "toggle"}
              aria-pressed={f === format}
              data-testid={`export-format-${f}`}
              onClick={() => {
                setFormat(f);
                // The last error was about the other format's choices.
                setError(null);
              }}
            >
              {FORMATS[f].name}
            </button>
          ))}
        </div>
        <p class="muted">{FORMATS[format].about}</p>

        <h3>Identified sightings</h3>
        <div class="row">
          <label class="inline">
            species
            <input
              type="text"
              data-testid="export-filter-species"
              placeholder="all (or humpback_whale, …)"
              value={species}
              onInput={(e) => setSpecies((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <label class="inline">
            from
            <input type="date" data-testid="export-filter-from" value={from} onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <label class="inline">
            to
            <input type="date" data-testid="export-filter-to" value={to} onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
          </label>
        </div>
        <div class="row" title="A quality keeps only photos graded that good or better: ungraded photos are then left out.">
          <GradeFilter value={grades} onChange={setGrades} testIdPrefix="export-filter" />
        </div>

        {format === "dwca" && (
          <div class="form-grid">
            <label>
              <span class="label">Dataset title</span>
              <input
                type="text"
                data-testid="export-dwca-title"
                placeholder="Humpback photo-ID, Skye 2024"
                value={dataset.title}
                onInput={(e) => setDataset({ ...dataset, title: (e.currentTarget as HTMLInputElement).value })}
              />
            </label>
            <label>
              <span class="label">Contact (name and email)</span>
              <input
                type="text"
                data-testid="export-dwca-contact"
                placeholder="Ana Ruiz <ana@example.org>"
                value={dataset.contact}
                onInput={(e) => setDataset({ ...dataset, contact: (e.currentTarget as HTMLInputElement).value })}
              />
            </label>
            <label>
              <span class="label">Licence</span>
              <select
                data-testid="export-dwca-licence"
                value={dataset.licence}
                onChange={(e) =>
                  setDataset({ ...dataset, licence: (e.currentTarget as HTMLSelectElement).value as DwcaDataset["licence"] })
                }
              >
                {LICENCES.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
          </div>
        )}

        {format === "mark" && (
          <>
            <div class="form-grid">
              <label>
                <span class="label">Occasions</span>
                <select
                  data-testid="export-mark-occasions"
                  value={occasions}
                  onChange={(e) => setOccasions((e.currentTarget as HTMLSelectElement).value as MarkChoices["occasions"])}
                >
                  <option value="days">each day with a sighting</option>
                  <option value="months">each month with a sighting</option>
                  <option value="surveys">surveys (date ranges)</option>
                </select>
              </label>
              <label>
                <span class="label">Groups</span>
                <select
                  data-testid="export-mark-groups"
                  value={groups ?? ""}
                  onChange={(e) => setGroups(((e.currentTarget as HTMLSelectElement).value || null) as MarkChoices["groups"])}
                >
                  <option value="">none</option>
                  <option value="distinctiveness">by distinctiveness</option>
                  <option value="species">by species</option>
                </select>
              </label>
              <label class="check">
                <input
                  type="checkbox"
                  data-testid="export-mark-comments"
                  checked={comments}
                  onChange={(e) => setComments((e.currentTarget as HTMLInputElement).checked)}
                />
                name each individual in a comment
              </label>
            </div>
            {occasions === "surveys" && (
              <div data-testid="export-mark-surveys">
                {surveys.map((s, i) => (
                  <div class="row" key={i}>
                    <label class="inline">
                      survey {i + 1} from
                      <input
                        type="date"
                        data-testid={`export-mark-survey-from-${i}`}
                        value={s.from}
                        onInput={(e) => setSurvey(i, { from: (e.currentTarget as HTMLInputElement).value })}
                      />
                    </label>
                    <label class="inline">
                      to
                      <input
                        type="date"
                        data-testid={`export-mark-survey-to-${i}`}
                        value={s.to}
                        onInput={(e) => setSurvey(i, { to: (e.currentTarget as HTMLInputElement).value })}
                      />
                    </label>
                    {surveys.length > 1 && (
                      <button type="button" class="link" onClick={() => setSurveys((all) => all.filter((_, j) => j !== i))}>
                        remove
                      </button>
                    )}
                  </div>
                ))}
                <div class="row">
                  <button type="button" data-testid="export-mark-add-survey" onClick={() => setSurveys((all) => [...all, { from: "", to: "" }])}>
                    Add a survey
                  </button>
                </div>
              </div>
            )}
          </>
        )}

        <div class="row">
          <button type="button" class="primary" data-testid="export-run" disabled={busy} onClick={publish}>
            Export {FORMATS[format].name}
          </button>
        </div>
        {last === "publish" && <ErrorLine error={error} />}
        {published && <Published format={published.format} r={published.r} />}
      </div>
    </section>
  );
}

/** What a publication export wrote, and the sightings it left out. */
function Published({ format, r }: { format: Format; r: PublishResult }) {
  const shown = r.leftOut.slice(0, LEFT_OUT_SHOWN);
  return (
    <div>
      <p class="result" data-testid="export-result">
        {FORMATS[format].name}: wrote {plural(r.rows, r.unit)} to <span class="path">{r.path}</span>
      </p>
      {r.notes.map((n) => (
        <p class="muted" key={n}>
          {n}
        </p>
      ))}
      <div data-testid="export-left-out" data-count={String(r.leftOut.length)}>
        {r.leftOut.length === 0 ? (
          <p class="muted">No sighting left out.</p>
        ) : (
          <>
            <p class="notice">{plural(r.leftOut.length, "sighting")} left out:</p>
            <ul>
              {shown.map((s) => (
                <li key={s.sighting}>
                  <span class="path">{s.sighting}</span>: {s.reasons.join(", ")}
                </li>
              ))}
            </ul>
            {r.leftOut.length > shown.length && <p class="muted">and {r.leftOut.length - shown.length} more</p>}
          </>
        )}
      </div>
    </div>
  );
}
