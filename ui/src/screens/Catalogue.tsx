/**
 * Catalogue: the known individuals as a searchable, filterable grid; a card
 * opens the individual's page.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { IndividualFilter } from "../bindings/IndividualFilter";
import type { IndividualSummary } from "../bindings/IndividualSummary";
import { ErrorLine } from "../components/ErrorLine";
import { ANY_GRADE, GradeFilter, type GradeChoice } from "../components/GradeFilter";
import { Img } from "../components/Img";
import { individualsList, toAppError } from "../ipc";
import { formatDay, plural } from "../lib/format";
import { IndividualPage } from "./catalogue/IndividualPage";

export function CatalogueScreen({ onChanged }: { onChanged: () => void }) {
  const [openId, setOpenId] = useState<number | null>(null);
  const [search, setSearch] = useState("");
  const [species, setSpecies] = useState("");
  const [dateFrom, setDateFrom] = useState("");
  const [dateTo, setDateTo] = useState("");
  const [hasNew, setHasNew] = useState(false);
  const [grades, setGrades] = useState<GradeChoice>(ANY_GRADE);
  const [list, setList] = useState<IndividualSummary[]>([]);
  const [speciesSeen, setSpeciesSeen] = useState<string[]>([]);
  const [error, setError] = useState<AppError | null>(null);
  const [reload, setReload] = useState(0);

  const filter: IndividualFilter = useMemo(
    () => ({
      search: search.trim() || null,
      species: species || null,
      dateFrom: dateFrom || null,
      dateTo: dateTo || null,
      hasNewSightings: hasNew,
      minQuality: grades.minQuality as IndividualFilter["minQuality"],
      distinctiveness: grades.distinctiveness as IndividualFilter["distinctiveness"],
      side: grades.side as IndividualFilter["side"],
      part: grades.part as IndividualFilter["part"],
    }),
    [search, species, dateFrom, dateTo, hasNew, grades],
  );

  useEffect(() => {
    let stale = false;
    // Typing a code should not fire a query per keystroke.
    const t = setTimeout(() => {
      individualsList(filter)
        .then((l) => {
          if (stale) return;
          setList(l);
          setError(null);
          setSpeciesSeen((seen) => {
            const all = new Set(seen);
            l.forEach((i) => i.species && all.add(i.species));
            return all.size === seen.length ? seen : [...all].sort();
          });
        })
        .catch((e) => !stale && setError(toAppError(e)));
    }, 150);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [filter, reload]);

  if (openId != null) {
    return (
      <IndividualPage
        id={openId}
        onBack={() => {
          setOpenId(null);
          setReload((r) => r + 1);
        }}
        onOpen={setOpenId}
        onChanged={onChanged}
      />
    );
  }

  return (
    <section class="catalogue">
      <div class="toolbar">
        <h1>Catalogue</h1>
        <input
          type="search"
          data-testid="individual-search"
          placeholder="Search code or name"
          value={search}
          onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
        />
        <select value={species} onChange={(e) => setSpecies((e.currentTarget as HTMLSelectElement).value)} aria-label="Species">
          <option value="">All species</option>
          {speciesSeen.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <label class="inline">
          from
          <input type="date" value={dateFrom} onInput={(e) => setDateFrom((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="inline">
          to
          <input type="date" value={dateTo} onInput={(e) => setDateTo((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="inline check">
          <input type="checkbox" checked={hasNew} onChange={(e) => setHasNew((e.currentTarget as HTMLInputElement).checked)} />
          has new sightings
        </label>
        <GradeFilter value={grades} onChange={setGrades} testIdPrefix="filter" sideAndPart />
        <span class="muted">{plural(list.length, "individual")}</span>
      </div>
      <ErrorLine error={error} />
      {list.length === 0 && !error ? (
        <p class="empty muted">No individuals match.</p>
      ) : (
        <div class="grid">
          {list.map((ind) => (
            <button
              type="button"
              key={ind.id}
              class="card"
              data-testid="individual-card"
              data-code={ind.code}
              data-id={String(ind.id)}
              onClick={() => setOpenId(ind.id)}
            >
              <Img path={ind.representativeCrop} alt={ind.code} class="card-img" />
              <div class="card-body">
                <div class="card-title">
                  <strong>{ind.code}</strong>
                  {ind.newSightings > 0 && <span class="badge">+{ind.newSightings}</span>}
                </div>
                {ind.name && <div>{ind.name}</div>}
                <div class="muted">
                  {ind.species ?? "species ?"} · {plural(ind.sightings, "sighting")}
                </div>
                <div class="muted">
                  {formatDay(ind.firstSeen)} – {formatDay(ind.lastSeen)}
                </div>
              </div>
            </button>
          ))}
        </div>
      )}
    </section>
  );
}
