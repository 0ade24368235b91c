// How numbers and states read in the sidebar: pure functions, no DOM.

import { quoteForIPython } from './quote';
import type { Experiment, Metrics } from './types';

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Bytes in SI units: 0 B, 512 B, 1.5 kB, 23 MB, 4.1 GB; an unknown size reads as a dash. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) {
    return '—';
  }
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) {
    return `${bytes} B`;
  }
  const digits = value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** A metric value: integers as they are, fractions with 3 decimals (mAP 0.532), larger ones with 1. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) {
    return String(value);
  }
  return value.toFixed(Math.abs(value) < 10 ? 3 : 1);
}

/** Registry metrics on one line: "mAP 0.532 · recall 0.811". */
export function formatMetrics(metrics: Metrics | null | undefined): string {
  return Object.entries(metrics ?? {})
    .filter(([, value]) => value !== null && value !== '')
    .map(([name, value]) =>
      `${name} ${typeof value === 'number' ? formatNumber(value) : value}`
    )
    .join(' · ');
}

/** Training progress: "epoch 3/10", "epoch 3", or "" before the first epoch. */
export function formatEpochs(experiment: Pick<Experiment, 'epoch' | 'epochs'>): string {
  const { epoch, epochs } = experiment;
  if (epoch === null || epoch === undefined) {
    return epochs ? `0/${epochs} epochs` : '';
  }
  return epochs ? `epoch ${epoch}/${epochs}` : `epoch ${epoch}`;
}

/** The best metric of an experiment: "mAP 0.532", or "" when there is none yet. */
export function formatBestMetric(experiment: Pick<Experiment, 'metric'>): string {
  const { metric } = experiment;
  return metric ? `${metric.name} ${formatNumber(metric.value)}` : '';
}

/**
 * The text of the notebook cell that pulls a registry model with the %tlt magic; every value is
 * quoted (`quoteForIPython`), since registry names come from a folder anyone may write to.
 */
export function pullCellSource(name: string, version: string, dir = 'pretrained'): string {
  const [n, v, d] = [name, version, dir].map(quoteForIPython);
  return `%tlt pull --model_name ${n} --version ${v} --dir ${d}`;
}
