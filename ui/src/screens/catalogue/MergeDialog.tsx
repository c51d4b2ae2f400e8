import { useEffect, useState } from "preact/hooks";
import type { AppError } from "../../bindings/AppError";
import type { IndividualDetail } from "../../bindings/IndividualDetail";
import type { IndividualSummary } from "../../bindings/IndividualSummary";
import { ErrorLine } from "../../components/ErrorLine";
import { Img } from "../../components/Img";
import { individualMerge, individualMergeDirection, individualsList, toAppError } from "../../ipc";
import { formatDay, plural } from "../../lib/format";

type Props = {
  self: IndividualSummary;
  onDone: (into: IndividualDetail) => void;
  onCancel: () => void;
};

/**
 * Pick another individual, look at both side by side, then merge one into
 * the other. The direction starts as the engine's default (the individual
 * with more sightings, or the older one, is kept), whichever of the two
 * pages the dialog was opened from; "Swap direction" turns it round.
 */
export function MergeDialog({ self, onDone, onCancel }: Props) {
  const [search, setSearch] = useState("");
  const [options, setOptions] = useState<IndividualSummary[]>([]);
  const [other, setOther] = useState<IndividualSummary | null>(null);
  const [otherIntoSelf, setOtherIntoSelf] = useState(true);
  /** The default direction is being asked for the picked individual. */
  const [directing, setDirecting] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let stale = false;
    const t = setTimeout(() => {
      individualsList({ search: search.trim() || null, species: null, dateFrom: null, dateTo: null, hasNewSightings: false })
        .then((l) => !stale && setOptions(l.filter((i) => i.id !== self.id).slice(0, 60)))
        .catch((e) => !stale && setError(toAppError(e)));
    }, 150);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [search, self.id]);

  const pick = async (o: IndividualSummary) => {
    setOther(o);
    setError(null);
    setDirecting(true);
    try {
      const d = await individualMergeDirection(self.id, o.id);
      setOtherIntoSelf(d.intoId === self.id);
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setDirecting(false);
    }
  };

  const from = other && (otherIntoSelf ? other : self);
  const into = other && (otherIntoSelf ? self : other);

  const confirm = async () => {
    if (!from || !into) return;
    setBusy(true);
    setError(null);
    try {
      onDone(await individualMerge(from.id, into.id));
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="panel merge" role="dialog" aria-label="Merge individuals">
      <h2>Merge {self.code} with another individual</h2>
      {!other ? (
        <>
          <input
            type="search"
            placeholder="Search code or name"
            value={search}
            autoFocus
            onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
          />
          <div class="merge-options">
            {options.map((o) => (
              <button type="button" key={o.id} class="merge-option" onClick={() => void pick(o)}>
                <Img path={o.representativeCrop} alt={o.code} class="thumb" />
                <strong>{o.code}</strong>
                <span class="muted">{plural(o.sightings, "sighting")}</span>
              </button>
            ))}
          </div>
          <div class="row">
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
          </div>
        </>
      ) : (
        <>
          <div class="merge-compare">
            <Side s={from!} role="merged away" />
            <div class="merge-arrow" aria-hidden="true">
              →
            </div>
            <Side s={into!} role="kept" />
          </div>
          <p>
            All {plural(from!.sightings, "sighting")} of <strong>{from!.code}</strong> will move to{" "}
            <strong>{into!.code}</strong>. The merge can be undone from the history.
          </p>
          <div class="row">
            <button type="button" class="primary" data-testid="merge-confirm" disabled={busy || directing} onClick={confirm}>
              Merge {from!.code} into {into!.code}
            </button>
            <button type="button" data-testid="merge-swap" onClick={() => setOtherIntoSelf((v) => !v)}>
              Swap direction
            </button>
            <button type="button" onClick={() => setOther(null)}>
              Pick another
            </button>
            <button type="button" class="link" onClick={onCancel}>
              Cancel
            </button>
          </div>
        </>
      )}
      <ErrorLine error={error} />
    </div>
  );
}

function Side({ s, role }: { s: IndividualSummary; role: string }) {
  return (
    <div class="merge-side">
      <div class="muted">{role}</div>
      <Img path={s.representativeCrop} alt={s.code} class="merge-img" />
      <strong>{s.code}</strong>
      {s.name && <div>{s.name}</div>}
      <div class="muted">
        {s.species ?? "species ?"} · {plural(s.sightings, "sighting")} · {formatDay(s.firstSeen)} – {formatDay(s.lastSeen)}
      </div>
    </div>
  );
}
