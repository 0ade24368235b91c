// Runs side by side: which curves to overlay, their points, the metrics table and the parallel
// coordinates, computed from GET compare's answer. Pure functions, no DOM.

import type { CompareAnswer, CompareRun } from './types';

/** More runs than this get the parallel-coordinates chart (hyper-parameter searches). */
export const PARALLEL_FROM = 6;

/** The curves worth overlaying, in this order when present: losses, learning rate, validation metrics. */
export function curveKeys(runs: readonly CompareRun[]): string[] {
  const keys = new Set<string>();
  for (const run of runs) {
    for (const record of run.history) {
      for (const [key, value] of Object.entries(record)) {
        if (key !== 'epoch' && key !== 'time' && typeof value === 'number' && Number.isFinite(value)) {
          keys.add(key);
        }
      }
    }
  }
  const rank = (key: string) => (key === 'loss' ? 0 : key.endsWith('loss') ? 1 : key === 'lr' ? 2 : 3);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** One run's [epoch, value] points of a curve (epochs without the value are skipped). */
export function points(run: CompareRun, key: string): [number, number][] {
  const out: [number, number][] = [];
  for (const record of run.history) {
    const epoch = record.epoch;
    const value = record[key];
    if (typeof epoch === 'number' && typeof value === 'number' && Number.isFinite(value)) {
      out.push([epoch, value]);
    }
  }
  return out;
}

/** [min, max] of numbers, widened when they are all equal so that a scale never divides by zero. */
export function extent(values: readonly number[]): [number, number] {
  if (values.length === 0) {
    return [0, 1];
  }
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5] : [lo, hi];
}

/** The columns of the final metrics table: every final figure of any run, sorted. */
export function finalColumns(runs: readonly CompareRun[]): string[] {
  return [...new Set(runs.flatMap(run => Object.keys(run.final)))].sort();
}

/** An axis of the parallel coordinates: a numeric spec field that differs, or the headline metric. */
export interface Axis {
  name: string;
  values: (number | null)[];
}

/** Numeric spec fields that differ between the runs, then each run's headline metric (last axis). */
export function parallelAxes(answer: CompareAnswer): Axis[] {
  const axes: Axis[] = [];
  for (const { field, values } of answer.spec_diff) {
    const numbers = values.map(v => (v === null || v.trim() === '' ? null : Number(v)));
    if (numbers.every(n => n === null || Number.isFinite(n)) && numbers.some(n => n !== null)) {
      axes.push({ name: field, values: numbers });
    }
  }
  const metric = answer.runs.find(run => run.metric)?.metric?.name;
  if (metric) {
    axes.push({ name: metric, values: answer.runs.map(run => (run.metric?.name === metric ? run.metric.value : null)) });
  }
  return axes;
}
