/**
 * Number and time formatting shared by every screen. Kept pure and in one
 * place so that "ETA 1 h 02 min" reads the same in Import as anywhere else.
 */

/** "45 s", "3 min 05 s", "1 h 02 min"; "—" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, "0")} min`;
}

/** ETA with a "calculating" state while the rate is still unknown. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "calculating…";
  if (seconds < 1) return "< 1 s";
  return formatDuration(seconds);
}

/** Photos per second: two significant-ish digits, "—" before the first photo. */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond == null || !Number.isFinite(perSecond) || perSecond <= 0) return "— photos/s";
  const digits = perSecond >= 10 ? 0 : perSecond >= 1 ? 1 : 2;
  return `${perSecond.toFixed(digits)} photos/s`;
}

/** Similarity score as shown beside a suggestion: "0.873", or "—". */
export function formatScore(score: number | null | undefined): string {
  if (score == null || !Number.isFinite(score)) return "—";
  return score.toFixed(3);
}

/** Change of a score, signed so a drop cannot be misread: "+0.043", "−0.012", "±0.000". */
export function formatDelta(before: number | null | undefined, after: number | null | undefined): string {
  if (before == null || after == null || !Number.isFinite(before) || !Number.isFinite(after)) return "—";
  const d = Number((after - before).toFixed(3));
  if (d === 0) return "±0.000";
  return `${d > 0 ? "+" : "−"}${Math.abs(d).toFixed(3)}`;
}

/** 0..1 fraction of a job, safe for total = 0. */
export function fraction(done: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.min(1, Math.max(0, done / total));
}

export function formatPercent(done: number, total: number): string {
  return `${Math.floor(fraction(done, total) * 100)}%`;
}

/** Local-looking date "2026-06-30 14:05" from an ISO-ish timestamp; keeps the photo's own clock. */
export function formatTaken(ts: string | null | undefined): string {
  if (!ts) return "no date";
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}))?/.exec(ts);
  if (!m) return ts;
  return m[2] ? `${m[1]} ${m[2]}` : m[1];
}

/** Date part only, for tables and ranges. */
export function formatDay(ts: string | null | undefined): string {
  if (!ts) return "—";
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(ts);
  return m ? m[1] : ts;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Last path component, for compact lists ("IMG_0042.JPG"). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : path;
}

/** The folder a file is in, by its own name ("survey-03" for ".../survey-03/IMG_1.jpg"); "" at the root. */
export function folderName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length > 1 ? parts[parts.length - 2] : "";
}

/** A byte count for people: "812 B", "3.4 MB", "1.2 GB" (powers of 1000, as file managers show). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
