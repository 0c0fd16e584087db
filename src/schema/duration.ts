/** Durations written as `90s`, `5m`, `1h`, `1h30m`, `2d` (policy TTLs, config lifetimes). */
import { refine } from "./refine.ts";
import { string } from "./scalars.ts";
import type { Schema } from "./types.ts";

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** `90s`, `5m`, `1h`, `1h30m`, `2d` → seconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text === "") return undefined;
  const [d, h, min, sec] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  return d! * 86_400 + h! * 3_600 + min! * 60 + sec!;
}

export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["m", 60], ["s", 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("") || "0s";
}

export function duration(what: string, min: number, max: number): Schema<number> {
  const text = string({
    what,
    maxLength: 32,
    check: (v) => {
      const secs = parseDuration(v);
      if (secs === undefined) return `invalid ${what} ${JSON.stringify(v)}: use a duration like 90s, 5m, 1h or 1h30m`;
      if (secs < min) return `${what} ${v} is below the minimum ${formatDuration(min)}`;
      if (secs > max) return `${what} ${v} is above the maximum ${formatDuration(max)}`;
      return undefined;
    },
  });
  return refine(text, (v) => parseDuration(v)!, "duration");
}
