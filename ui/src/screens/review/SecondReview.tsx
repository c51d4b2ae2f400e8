/**
 * The second reviewer (issue 16), one tab at a time:
 *
 * - **Second review**: the switch ("decisions need a second reviewer") and
 *   the observer's blind queue. Each item shows the photo and the model's
 *   suggestions exactly as Review did, and nothing of the first decision:
 *   the backend's items carry none, and this tab loads nothing else (not
 *   the disagreements, not the report). The first decision is shown only
 *   in the line that follows the person's own opinion.
 * - **Disagreements**: both opinions side by side, and buttons that
 *   resolve with a normal decision (anyone may).
 * - **Agreement**: the analyst-agreement report, per pair of people and
 *   per photo quality.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import type { AgreementReportView } from "../../bindings/AgreementReportView";
import type { AppError } from "../../bindings/AppError";
import type { DisagreementItem } from "../../bindings/DisagreementItem";
import type { OpinionView } from "../../bindings/OpinionView";
import type { ReviewItem } from "../../bindings/ReviewItem";
import { ErrorLine } from "../../components/ErrorLine";
import { Img } from "../../components/Img";
import {
  agreementReport,
  disagreementResolve,
  disagreementsList,
  secondOpinion,
  secondReviewQueue,
  secondReviewRequired,
  toAppError,
  type OpinionChoice,
} from "../../ipc";
import { baseName, formatScore } from "../../lib/format";
import { candidatesOf } from "./Suggestions";

type Tab = "queue" | "disagreements" | "agreement";

const TABS: { id: Tab; label: string }[] = [
  { id: "queue", label: "Second review" },
  { id: "disagreements", label: "Disagreements" },
  { id: "agreement", label: "Agreement" },
];

/** An opinion in words: the individual's code, "new individual" or "not identifiable". */
export function opinionText(o: OpinionView): string {
  if (o.choice === "individual") return o.code ?? "an individual";
  if (o.choice === "new") return o.code ? `new individual (${o.code})` : "new individual";
  return "not identifiable";
}

function percentText(p: number | null): string {
  return p == null ? "–" : `${p.toFixed(1)}%`;
}

export function SecondReviewScreen({ onChanged }: { onChanged?: () => void }) {
  const [tab, setTab] = useState<Tab>("queue");
  return (
    <section class="second-review">
      <div class="tabs" role="tablist" aria-label="Second review">
        {TABS.map((t) => (
          <button
            type="button"
            role="tab"
            key={t.id}
            data-testid={`second-review-tab-${t.id}`}
            aria-selected={tab === t.id}
            class={tab === t.id ? "active" : ""}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {tab === "queue" ? (
        <BlindQueue onChanged={onChanged} />
      ) : tab === "disagreements" ? (
        <Disagreements onChanged={onChanged} />
      ) : (
        <Agreement />
      )}
    </section>
  );
}

/** The observer's blind queue, with the switch. */
function BlindQueue({ onChanged }: { onChanged?: () => void }) {
  const [items, setItems] = useState<ReviewItem[] | null>(null);
  const [required, setRequired] = useState<boolean | null>(null);
  const [reviewer, setReviewer] = useState<string>("");
  const [error, setError] = useState<AppError | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setRequired(await secondReviewRequired(null));
      const q = await secondReviewQueue();
      setItems(q.items);
      setReviewer(q.reviewer);
      setError(null);
    } catch (e) {
      setError(toAppError(e));
    }
  }, []);
  useEffect(() => void load(), [load]);

  const toggle = async () => {
    try {
      setRequired(await secondReviewRequired(!required));
    } catch (e) {
      setError(toAppError(e));
    }
  };

  const give = async (item: ReviewItem, choice: OpinionChoice, individualId: number | null) => {
    if (busy) return;
    setBusy(true);
    try {
      const out = await secondOpinion(item.detectionId, choice, individualId);
      const first = `${opinionText(out.first)} by ${out.first.by}`;
      setSaid(
        out.state === "agreed"
          ? `#${item.detectionId}: you agreed with ${first}; the decision is final.`
          : `#${item.detectionId}: you said ${opinionText(out.second)}, ${first}: on the disagreement list.`,
      );
      setItems((now) => (now ?? []).filter((i) => i.detectionId !== item.detectionId));
      onChanged?.();
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="second-review-queue-panel">
      <label class="switch">
        <input
          type="checkbox"
          data-testid="second-review-switch"
          checked={required === true}
          disabled={required == null}
          onChange={() => void toggle()}
        />{" "}
        Decisions need a second reviewer
      </label>
      <ErrorLine error={error} testId="second-review-error" />
      {said && (
        <p class="status" role="status" data-testid="second-review-said">
          {said}
        </p>
      )}
      <ul class="second-review-queue" data-testid="second-review-queue" aria-label="Waiting for your opinion">
        {items?.length === 0 && (
          <li class="muted" data-testid="second-review-empty">
            Nothing waits for {reviewer ? `${reviewer}'s` : "your"} opinion.
          </li>
        )}
        {items?.map((item) => (
          <li class="second-review-item" data-testid="second-review-item" key={item.detectionId}>
            <Img path={item.cropPath ?? item.thumbPath} alt={`detection ${item.detectionId}`} class="crop" />
            <div>
              <div>
                #{item.detectionId} · {baseName(item.photoPath)} · {item.encounterLabel}
              </div>
              <div class="actions">
                {candidatesOf(item.suggestions).map((s) => (
                  <button
                    type="button"
                    key={s.individualId}
                    data-testid={`opinion-individual-${s.individualId}`}
                    disabled={busy}
                    onClick={() => void give(item, "individual", s.individualId)}
                  >
                    <Img path={s.bestCrop} alt={s.code ?? ""} class="thumb" />
                    {s.code} {s.score != null ? formatScore(s.score) : ""}
                  </button>
                ))}
                <button type="button" data-testid="opinion-new" disabled={busy} onClick={() => void give(item, "new", null)}>
                  New individual
                </button>
                <button
                  type="button"
                  data-testid="opinion-unidentifiable"
                  disabled={busy}
                  onClick={() => void give(item, "unidentifiable", null)}
                >
                  Not identifiable
                </button>
              </div>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** One side of a disagreement. */
function Side({ label, o }: { label: string; o: OpinionView }) {
  return (
    <div class="opinion" data-testid="opinion">
      <div class="muted">{label}</div>
      <div>
        <strong>{opinionText(o)}</strong> by {o.by}
      </div>
      <div class="muted">{o.at.slice(0, 16).replace("T", " ")}</div>
    </div>
  );
}

/** How to settle a disagreement on an opinion's answer, when it can be taken as is. */
function resolutionOf(o: OpinionView): { choice: OpinionChoice; individualId: number | null } | null {
  if (o.individualId != null) return { choice: "individual", individualId: o.individualId };
  if (o.choice === "unidentifiable") return { choice: "unidentifiable", individualId: null };
  return null;
}

function Disagreements({ onChanged }: { onChanged?: () => void }) {
  const [rows, setRows] = useState<DisagreementItem[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [codes, setCodes] = useState<Record<number, string>>({});

  const load = useCallback(async () => {
    try {
      setRows(await disagreementsList());
      setError(null);
    } catch (e) {
      setError(toAppError(e));
    }
  }, []);
  useEffect(() => void load(), [load]);

  const resolve = async (
    d: DisagreementItem,
    choice: OpinionChoice,
    individualId: number | null,
    code: string | null,
  ) => {
    try {
      await disagreementResolve(d.detectionId, choice, individualId, code, null);
      onChanged?.();
      await load();
    } catch (e) {
      setError(toAppError(e));
    }
  };

  return (
    <div data-testid="disagreements">
      <ErrorLine error={error} testId="disagreements-error" />
      {rows?.length === 0 && <p class="muted">No disagreements.</p>}
      {rows?.map((d) => (
        <div class="disagreement" data-testid="disagreement" key={d.detectionId}>
          <Img path={d.cropPath} alt={`detection ${d.detectionId}`} class="crop" />
          <div>
            #{d.detectionId} · {baseName(d.photoPath)}
          </div>
          <div class="side-by-side">
            <Side label="First decision" o={d.first} />
            <Side label="Second opinion" o={d.second} />
          </div>
          <div class="actions">
            {[d.first, d.second].map((o) => {
              const r = resolutionOf(o);
              return (
                r && (
                  <button
                    type="button"
                    key={o.round}
                    data-testid={`resolve-round-${o.round}`}
                    onClick={() => void resolve(d, r.choice, r.individualId, null)}
                  >
                    Decide: {opinionText(o)}
                  </button>
                )
              );
            })}
            <input
              type="text"
              placeholder="new individual's code"
              data-testid="resolve-new-code"
              value={codes[d.detectionId] ?? ""}
              onInput={(e) => setCodes({ ...codes, [d.detectionId]: (e.target as HTMLInputElement).value })}
            />
            <button
              type="button"
              data-testid="resolve-new"
              disabled={!(codes[d.detectionId] ?? "").trim()}
              onClick={() => void resolve(d, "new", null, codes[d.detectionId].trim())}
            >
              New individual
            </button>
          </div>
        </div>
      ))}
    </div>
  );
}

function Agreement() {
  const [report, setReport] = useState<AgreementReportView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  useEffect(() => {
    agreementReport()
      .then(setReport)
      .catch((e) => setError(toAppError(e)));
  }, []);
  return (
    <div data-testid="agreement-report">
      <ErrorLine error={error} testId="agreement-error" />
      {report && (
        <>
          <p data-testid="agreement-summary">
            {report.items} detections judged by two people, {report.agreed} agreed ({percentText(report.percent)})
          </p>
          <table class="agreement-pairs">
            <thead>
              <tr>
                <th>Person</th>
                <th>Person</th>
                <th>Items</th>
                <th>Agreed</th>
                <th>Percent</th>
                <th title="Cohen's kappa over the answers (each individual, new, not identifiable)">Kappa</th>
              </tr>
            </thead>
            <tbody>
              {report.pairs.map((p) => (
                <tr key={`${p.a}\u0000${p.b}`} data-testid="agreement-pair">
                  <td>{p.a}</td>
                  <td>{p.b}</td>
                  <td>{p.items}</td>
                  <td>{p.agreed}</td>
                  <td>{percentText(p.percent)}</td>
                  <td>{p.kappa == null ? "–" : p.kappa.toFixed(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table class="agreement-grades">
            <thead>
              <tr>
                <th>Quality</th>
                <th>Items</th>
                <th>Agreed</th>
                <th>Percent</th>
              </tr>
            </thead>
            <tbody>
              {report.grades.map((g) => (
                <tr key={g.grade} data-testid="agreement-grade">
                  <td>{g.grade}</td>
                  <td>{g.items}</td>
                  <td>{g.agreed}</td>
                  <td>{percentText(g.percent)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
