/**
 * GPS positions to SVG coordinates for an individual's sighting chart: an
 * equirectangular projection with longitude shrunk by cos(latitude) so a
 * kilometre looks the same both ways, fitted into the box with a margin.
 * No tiles, no network; the points speak for themselves.
 */
export type GeoPoint = { latitude: number; longitude: number };
export type Plotted<T> = { x: number; y: number; item: T };

export function plotPositions<T extends { latitude: number | null; longitude: number | null }>(
  items: T[],
  width: number,
  height: number,
  margin = 16,
): { points: Plotted<T>[]; bounds: { minLat: number; maxLat: number; minLon: number; maxLon: number } | null } {
  const located = items.filter(
    (s): s is T & GeoPoint => s.latitude != null && s.longitude != null && Number.isFinite(s.latitude) && Number.isFinite(s.longitude),
  );
  if (located.length === 0) return { points: [], bounds: null };
  const lats = located.map((s) => s.latitude);
  const lons = located.map((s) => s.longitude);
  const minLat = Math.min(...lats);
  const maxLat = Math.max(...lats);
  const minLon = Math.min(...lons);
  const maxLon = Math.max(...lons);
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const spanX = (maxLon - minLon) * k;
  const spanY = maxLat - minLat;
  const innerW = width - 2 * margin;
  const innerH = height - 2 * margin;
  // A single point (or all at one spot) sits in the middle.
  const unit = Math.max(spanX / innerW, spanY / innerH) || 1;
  const offX = margin + (innerW - spanX / unit) / 2;
  const offY = margin + (innerH - spanY / unit) / 2;
  const points = located.map((s) => ({
    x: offX + ((s.longitude - minLon) * k) / unit,
    y: offY + (maxLat - s.latitude) / unit,
    item: s as T,
  }));
  return { points, bounds: { minLat, maxLat, minLon, maxLon } };
}
