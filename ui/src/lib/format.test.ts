import { describe, expect, it } from "vitest";
import { baseName, formatDay, formatDelta, formatDuration, formatEta, formatPercent, formatRate, formatScore, formatTaken, formatBytes, fraction, plural } from "./format";

describe("formatDuration / formatEta", () => {
  it("uses seconds, then minutes with padded seconds, then hours with padded minutes", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(59.4)).toBe("59 s");
    expect(formatDuration(59.6)).toBe("1 min 00 s");
    expect(formatDuration(185)).toBe("3 min 05 s");
    expect(formatDuration(3720)).toBe("1 h 02 min");
    expect(formatDuration(36000 + 59 * 60 + 59)).toBe("10 h 59 min");
  });
  it("says unknown for null, negative, NaN and infinity", () => {
    for (const v of [null, undefined, -1, NaN, Infinity]) expect(formatDuration(v)).toBe("—");
    for (const v of [null, undefined, -5, NaN, Infinity]) expect(formatEta(v)).toBe("calculating…");
  });
  it("ETA below a second is not rounded to 0 s", () => {
    expect(formatEta(0.3)).toBe("< 1 s");
    expect(formatEta(90)).toBe("1 min 30 s");
  });
});

describe("formatRate", () => {
  it("shows fewer decimals as the rate grows", () => {
    expect(formatRate(0.256)).toBe("0.26 photos/s");
    expect(formatRate(3.14159)).toBe("3.1 photos/s");
    expect(formatRate(42.7)).toBe("43 photos/s");
  });
  it("has no rate before the first photo", () => {
    expect(formatRate(0)).toBe("— photos/s");
    expect(formatRate(null)).toBe("— photos/s");
    expect(formatRate(NaN)).toBe("— photos/s");
  });
});

describe("formatScore", () => {
  it("three decimals, dash for missing", () => {
    expect(formatScore(0.87349)).toBe("0.873");
    expect(formatScore(1)).toBe("1.000");
    expect(formatScore(-0.1)).toBe("-0.100");
    expect(formatScore(null)).toBe("—");
  });
});

describe("fraction / percent", () => {
  it("is safe for an empty job and clamps overshoot", () => {
    expect(fraction(0, 0)).toBe(0);
    expect(fraction(5, 10)).toBe(0.5);
    expect(fraction(12, 10)).toBe(1);
    expect(formatPercent(999, 1000)).toBe("99%");
    expect(formatPercent(1000, 1000)).toBe("100%");
  });
});

describe("dates and names", () => {
  it("keeps the photo's own clock time (no timezone conversion)", () => {
    expect(formatTaken("2026-06-30T14:05:33+02:00")).toBe("2026-06-30 14:05");
    expect(formatTaken("2026-06-30 14:05:33")).toBe("2026-06-30 14:05");
    expect(formatTaken("2026-06-30")).toBe("2026-06-30");
    expect(formatTaken(null)).toBe("no date");
    expect(formatDay("2026-06-30T14:05:33Z")).toBe("2026-06-30");
  });
  it("plural and baseName", () => {
    expect(plural(1, "photo")).toBe("1 photo");
    expect(plural(0, "photo")).toBe("0 photos");
    expect(plural(2, "match", "matches")).toBe("2 matches");
    expect(baseName("/media/card/DCIM/IMG_0042.JPG")).toBe("IMG_0042.JPG");
    expect(baseName("C:\\survey\\day1\\")).toBe("day1");
  });
});

describe("formatDelta", () => {
  it("signs the change of a score to three decimals", () => {
    expect(formatDelta(0.612, 0.655)).toBe("+0.043");
    expect(formatDelta(0.655, 0.643)).toBe("−0.012");
    expect(formatDelta(0.5, 0.5002)).toBe("±0.000");
    expect(formatDelta(null, 0.5)).toBe("—");
  });
});

describe("formatBytes", () => {
  it("counts in powers of 1000 with one decimal below ten", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1.0 kB");
    expect(formatBytes(3_400_000)).toBe("3.4 MB");
    expect(formatBytes(812_000_000)).toBe("812 MB");
    expect(formatBytes(1_250_000_000)).toBe("1.3 GB");
  });
});
