/**
 * ISO-8601 durations and instants without the wall clock: workflow code must replay identically,
 * so every calculation here is plain UTC calendar arithmetic on values passed in.
 */
import { DomainError } from './errors';

export const ISO_DURATION_PATTERN =
  /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export interface DurationParts {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export function parseIsoDuration(duration: string): DurationParts {
  const m = ISO_DURATION_PATTERN.exec(duration);
  if (!m) throw new DomainError('validation_failed', `not an ISO-8601 duration: ${JSON.stringify(duration)}`, 'duration');
  const n = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  return { years: n(m[1]), months: n(m[2]), weeks: n(m[3]), days: n(m[4]), hours: n(m[5]), minutes: n(m[6]), seconds: n(m[7]) };
}

export function isIsoDuration(value: string): boolean {
  return ISO_DURATION_PATTERN.test(value);
}

function toMillis(instant: string): number {
  const ms = Date.parse(instant);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(instant) || Number.isNaN(ms)) {
    throw new DomainError('validation_failed', `not an ISO-8601 instant: ${JSON.stringify(instant)}`, 'instant');
  }
  return ms;
}

/** Normalises any ISO instant (with offset) to `YYYY-MM-DDTHH:mm:ss.sssZ` so strings compare in order. */
export function normalizeInstant(instant: string): string {
  return new Date(toMillis(instant)).toISOString();
}

export function isIsoInstant(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * Adds (sign 1) or subtracts (sign -1) a duration. Years and months move the calendar month and
 * clamp the day (31 January + P1M = 28/29 February) — what a program manager means by "one month";
 * weeks, days and times are exact since UTC has no daylight saving.
 */
export function addDuration(instant: string, duration: string, sign: 1 | -1 = 1): string {
  const p = parseIsoDuration(duration);
  const start = new Date(toMillis(instant));
  let ms = start.getTime();
  const monthShift = sign * (p.years * 12 + p.months);
  if (monthShift !== 0) {
    const y = start.getUTCFullYear();
    const targetMonth = start.getUTCMonth() + monthShift;
    const ty = y + Math.floor(targetMonth / 12);
    const tm = ((targetMonth % 12) + 12) % 12;
    const lastDay = new Date(Date.UTC(ty, tm + 1, 0)).getUTCDate();
    const day = Math.min(start.getUTCDate(), lastDay);
    ms = Date.UTC(ty, tm, day, start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds(), start.getUTCMilliseconds());
  }
  const exact = ((p.weeks * 7 + p.days) * 86_400 + p.hours * 3_600 + p.minutes * 60 + p.seconds) * 1000;
  ms += sign * Math.round(exact);
  return new Date(ms).toISOString();
}

export function addDays(instant: string, days: number): string {
  return new Date(toMillis(instant) + Math.round(days * 86_400_000)).toISOString();
}

export function compareInstants(a: string, b: string): number {
  return toMillis(a) - toMillis(b);
}

export function isBefore(a: string, b: string): boolean {
  return compareInstants(a, b) < 0;
}

export function isAtOrAfter(a: string, b: string): boolean {
  return compareInstants(a, b) >= 0;
}

export function earliest(instants: string[]): string | undefined {
  return instants.reduce<string | undefined>((min, x) => (min === undefined || isBefore(x, min) ? x : min), undefined);
}

/**
 * A policy date: a number of days or an ISO duration (relative to when the stage starts), or an
 * absolute ISO instant (a fixed calendar date the program manager published).
 */
export type Due = number | string;

export function resolveDue(due: Due, from: string): string {
  if (typeof due === 'number') return addDays(from, due);
  if (isIsoDuration(due)) return addDuration(from, due);
  return normalizeInstant(due);
}

/** The duration a `Due` adds, as ISO text, for records; absolute dates have none. */
export function dueToDuration(due: Due): string | null {
  if (typeof due === 'number') return `P${due}D`;
  return isIsoDuration(due) ? due : null;
}
