// A running experiment's pace, and the runs that ended since the last poll. Pure functions, no DOM.

import type { Experiment } from './types';

/**
 * Seconds per epoch (median of the gaps between consecutive epochs' `time`) and the seconds left
 * for the remaining epochs; null while fewer than two epochs have a time.
 */
export function epochTiming(
  history: readonly Record<string, unknown>[],
  epoch: number | null,
  epochs: number | null
): { perEpoch: number; eta: number | null } | null {
  const times = history
    .filter(r => typeof r.epoch === 'number' && typeof r.time === 'number')
    .map(r => [r.epoch as number, r.time as number] as const)
    .sort((a, b) => a[0] - b[0]);
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) {
    const epochsBetween = times[i][0] - times[i - 1][0];
    if (epochsBetween > 0) {
      gaps.push((times[i][1] - times[i - 1][1]) / epochsBetween);
    }
  }
  if (gaps.length === 0) {
    return null;
  }
  gaps.sort((a, b) => a - b);
  const mid = Math.floor(gaps.length / 2);
  const perEpoch = gaps.length % 2 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
  const eta = epochs !== null && epoch !== null ? Math.max(0, epochs - epoch) * perEpoch : null;
  return { perEpoch, eta };
}

/** Seconds as people read a duration: 45 s, 3 min 20 s, 2 h 05 min. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  }
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** The experiments that were running at the last poll and have now finished, failed or stopped. */
export function endedRuns(previous: readonly Experiment[], next: readonly Experiment[]): Experiment[] {
  const before = new Map(previous.map(e => [e.path, e.status]));
  return next.filter(e => before.get(e.path) === 'running' && e.status !== 'running');
}
