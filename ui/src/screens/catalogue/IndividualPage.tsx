/**
 * One individual: its photos over time, where it was seen, every sighting,
 * and the edits that shaped it (merge, split, rename), each undoable.
 */
import { Fragment } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { AppError } from "../../bindings/AppError";
import type { IndividualDetail } from "../../bindings/IndividualDetail";
import type { Sighting } from "../../bindings/Sighting";
import { ErrorLine } from "../../components/ErrorLine";
import { Img } from "../../components/Img";
import { GradeChips, GradeSummary } from "../../components/GradeChips";
import { individualGet, individualRename, individualSplit, individualUndo, setAttributes, toAppError } from "../../ipc";
import type { GradeAttribute } from "../../lib/grades";
import { baseName, folderName, formatDay, formatScore, formatTaken, plural } from "../../lib/format";
import { GpsChart } from "./GpsChart";
import { MergeDialog } from "./MergeDialog";

/**
 * Who decided or edited, as their laptop names them; for what arrived by
 * sync, the server account that pushed it beside that name when it is
 * another one (the name is whatever that laptop claimed, the account is
 * what the server checked).
 */
function Author({ name, account }: { name: string | null; account?: string }) {
  const other = account !== undefined && account !== name ? account : null;
  return (
    <>
      {name ?? "—"}
      {other !== null && (
        <span
          class="muted"
          data-testid="author-account"
          title="The sync server account that sent this; the name before it is what the sending laptop gave"
        >
          {" "}
          (account {other})
        </span>
      )}
    </>
  );
}

type Props = {
  id: number;
  onBack: () => void;
  /** Show another individual (after a split or a merge into the other one). */
  onOpen: (id: number) => void;
  onChanged: () => void;
};

export function IndividualPage({ id, onBack, onOpen, onChanged }: Props) {
  const [detail, setDetail] = useState<IndividualDetail | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [splitCode, setSplitCode] = useState("");
  const [merging, setMerging] = useState(false);
  const [busy, setBusy] = useState(false);
  /** The sighting whose grades are open for editing. */
  const [grading, setGrading] = useState<number | null>(null);

  useEffect(() => {
    setDetail(null);
    setSelected(new Set());
    setMerging(false);
    individualGet(id)
      .then(setDetail)
      .catch((e) => setError(toAppError(e)));
  }, [id]);

  /** Applies an edit; if it leaves us looking at another individual, go there. */
  const edit = async (f: () => Promise<IndividualDetail>) => {
    setBusy(true);
    setError(null);
    try {
      const d = await f();
      onChanged();
      setSelected(new Set());
      setRenaming(null);
      setMerging(false);
      if (d.summary.id !== id) onOpen(d.summary.id);
      else setDetail(d);
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  /** Sets (or clears) one grade of a photo; the page keeps its place. */
  const grade = async (detectionId: number, attribute: GradeAttribute, value: string | null) => {
    setBusy(true);
    setError(null);
    try {
      const grades = await setAttributes(detectionId, [{ attribute, value }]);
      setDetail((d) =>
        d && { ...d, sightings: d.sightings.map((x) => (x.detectionId === detectionId ? { ...x, grades } : x)) },
      );
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  const byDate = useMemo(
    () => (detail ? [...detail.sightings].sort((a, b) => (a.takenAt ?? "").localeCompare(b.takenAt ?? "")) : []),
    [detail],
  );
  const days = useMemo(() => groupByDay(byDate), [byDate]);

  if (!detail) {
    return (
      <section class="individual-page" data-testid="individual-page">
        <button type="button" class="link" onClick={onBack}>
          ← Catalogue
        </button>
        {error ? <ErrorLine error={error} /> : <p class="muted">Loading…</p>}
      </section>
    );
  }
  const s = detail.summary;

  const toggle = (detId: number) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(detId)) next.delete(detId);
      else next.add(detId);
      return next;
    });

  return (
    <section class="individual-page" data-testid="individual-page" data-id={String(s.id)}>
      <div class="toolbar">
        <button type="button" class="link" onClick={onBack}>
          ← Catalogue
        </button>
        {renaming == null ? (
          <h1 class="ind-code" data-testid="individual-code">
            {s.code}
          </h1>
        ) : (
          <input
            type="text"
            data-testid="rename-input"
            value={renaming}
            autoFocus
            onInput={(e) => setRenaming((e.currentTarget as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && renaming.trim()) void edit(() => individualRename(s.id, renaming.trim()));
              if (e.key === "Escape") setRenaming(null);
            }}
          />
        )}
        {s.name && <span>{s.name}</span>}
        <span class="muted">
          {s.species ?? "species ?"} · {plural(s.sightings, "sighting")} · {formatDay(s.firstSeen)} –{" "}
          {formatDay(s.lastSeen)}
        </span>
        <span class="spacer" />
        {renaming == null ? (
          <button type="button" data-testid="rename" onClick={() => setRenaming(s.code)}>
            Rename
          </button>
        ) : (
          <>
            <button
              type="button"
              class="primary"
              data-testid="rename-ok"
              disabled={busy || !renaming.trim()}
              onClick={() => void edit(() => individualRename(s.id, renaming.trim()))}
            >
              Save code
            </button>
            <button type="button" onClick={() => setRenaming(null)}>
              Cancel
            </button>
          </>
        )}
        <button type="button" data-testid="merge" onClick={() => setMerging(true)} disabled={merging}>
          Merge…
        </button>
      </div>
      <ErrorLine error={error} />
      {merging && (
        <MergeDialog self={s} onCancel={() => setMerging(false)} onDone={(d) => void edit(async () => d)} />
      )}

      <h2>Photos over time</h2>
      <div class="timeline">
        {days.map(([day, list]) => (
          <div class="day" key={day}>
            <div class="day-label">{day}</div>
            <div class="day-crops">
              {list.map((x) => (
                <Img key={x.detectionId} path={x.cropPath ?? x.photoPath} alt={formatTaken(x.takenAt)} class="crop" title={formatTaken(x.takenAt)} />
              ))}
            </div>
          </div>
        ))}
      </div>

      <div class="two-col">
        <div>
          <h2>Sightings</h2>
          <table class="sightings">
            <thead>
              <tr>
                <th aria-label="select" />
                <th />
                <th>Photo</th>
                <th>Date</th>
                <th>Position</th>
                <th>Encounter</th>
                <th>Source</th>
                <th>By</th>
                <th>Score</th>
              </tr>
            </thead>
            <tbody>
              {byDate.map((x) => (
                <Fragment key={x.detectionId}>
                  <tr data-testid="sighting" data-detection-id={String(x.detectionId)} class={selected.has(x.detectionId) ? "selected" : ""}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`select sighting ${x.detectionId}`}
                        checked={selected.has(x.detectionId)}
                        onChange={() => toggle(x.detectionId)}
                      />
                    </td>
                    <td>
                      <Img path={x.cropPath} alt="" class="thumb" />
                      <div class="sighting-grades" data-testid="sighting-grades">
                        <GradeSummary grades={x.grades} />
                        <button
                          type="button"
                          class="link"
                          data-testid="sighting-grade-edit"
                          aria-expanded={grading === x.detectionId}
                          onClick={() => setGrading(grading === x.detectionId ? null : x.detectionId)}
                          title="Quality, distinctiveness, side and body part of this photo"
                        >
                          {grading === x.detectionId ? "Done" : "Grade…"}
                        </button>
                      </div>
                    </td>
                    <td class="sighting-file" data-testid="sighting-file" title={x.photoPath}>
                      {baseName(x.photoPath)}
                      <span class="muted">
                        {" "}
                        · {folderName(x.photoPath)} · #{x.detectionId}
                      </span>
                    </td>
                    <td>{formatTaken(x.takenAt)}</td>
                    <td class="num">
                      {x.latitude != null && x.longitude != null ? `${x.latitude.toFixed(4)}, ${x.longitude.toFixed(4)}` : "—"}
                    </td>
                    <td>{x.encounterId ?? "—"}</td>
                    <td>{x.source}</td>
                    <td data-testid="sighting-by">
                      <Author name={x.decidedBy} account={x.decidedByAccount} />
                    </td>
                    <td class="num">{formatScore(x.score)}</td>
                  </tr>
                  {grading === x.detectionId && (
                    <tr data-testid="sighting-grade-editor" data-detection-id={String(x.detectionId)}>
                      <td colSpan={9}>
                        <GradeChips grades={x.grades} onSet={(a, v) => void grade(x.detectionId, a, v)} disabled={busy} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
          <div class="row split">
            <span>{plural(selected.size, "sighting")} selected</span>
            <input
              type="text"
              data-testid="split-code"
              placeholder="code for the new individual"
              value={splitCode}
              onInput={(e) => setSplitCode((e.currentTarget as HTMLInputElement).value)}
            />
            <button
              type="button"
              data-testid="split"
              disabled={busy || selected.size === 0 || selected.size === s.sightings || !splitCode.trim()}
              onClick={() => void edit(() => individualSplit(s.id, [...selected], splitCode.trim()))}
              title="Move the selected sightings to a new individual"
            >
              Split off
            </button>
          </div>
        </div>
        <div>
          <h2>Positions</h2>
          <GpsChart sightings={detail.sightings} />
          <h2>History</h2>
          <ul class="events">
            {detail.events.length === 0 && <li class="muted">No edits yet.</li>}
            {detail.events.map((ev) => (
              <li key={ev.id} class={ev.undone ? "undone" : ""} data-testid="individual-event">
                <span class="muted">{formatTaken(ev.createdAt)}</span>
                <span class="tag">{ev.kind}</span>
                <span class="grow">
                  {ev.summary}
                  {(ev.by || ev.byAccount) && (
                    <span class="muted">
                      {" "}
                      · by <Author name={ev.by} account={ev.byAccount} />
                    </span>
                  )}
                </span>
                {ev.undone ? (
                  <span class="muted">undone</span>
                ) : ev.undoable ? (
                  <button
                    type="button"
                    data-testid="event-undo"
                    disabled={busy}
                    onClick={() => void edit(() => individualUndo(ev.id))}
                  >
                    Undo
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        </div>
      </div>
    </section>
  );
}

function groupByDay(list: Sighting[]): [string, Sighting[]][] {
  const m = new Map<string, Sighting[]>();
  for (const x of list) {
    const d = x.takenAt ? formatDay(x.takenAt) : "no date";
    const arr = m.get(d);
    if (arr) arr.push(x);
    else m.set(d, [x]);
  }
  return [...m];
}
