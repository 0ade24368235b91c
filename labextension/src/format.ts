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

/**
 * Metrics stored as fractions (status files, registry manifests) that people read as percentages;
 * the level and source are named where they are shown (training validates at level "all").
 */
const PERCENT_METRICS = /^(mAP|AP_.+|accuracy|top_?\d+|precision|recall)$/;

/** A metric as people read it: fractions of PERCENT_METRICS in percent ("21.9%"), others as numbers. */
export function formatMetric(name: string, value: number): string {
  if (PERCENT_METRICS.test(name) && Math.abs(value) <= 1) {
    return `${(100 * value).toFixed(1)}%`;
  }
  return formatNumber(value);
}

/** The label of a validation metric: "val mAP (all)" for detection's training-time mAP. */
function validationLabel(name: string): string {
  return name === 'mAP' ? 'val mAP (all)' : `val ${name}`;
}

/** Registry metrics (validation during training) on one line: "val mAP (all) 53.2% · val recall 81.1%". */
export function formatMetrics(metrics: Metrics | null | undefined): string {
  return Object.entries(metrics ?? {})
    .filter(([, value]) => value !== null && value !== '')
    .map(([name, value]) =>
      `${validationLabel(name)} ${typeof value === 'number' ? formatMetric(name, value) : value}`
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

/** The best validation metric of an experiment: "best val mAP (all) 53.2%", or "" when there is none yet. */
export function formatBestMetric(experiment: Pick<Experiment, 'metric'>): string {
  const { metric } = experiment;
  return metric ? `best ${validationLabel(metric.name)} ${formatMetric(metric.name, metric.value)}` : '';
}

/**
 * The text of the notebook cell that pulls a registry model with the %tlt magic; every value is
 * quoted (`quoteForIPython`), since registry names come from a folder anyone may write to.
 */
export function pullCellSource(name: string, version: string, dir = 'pretrained'): string {
  const [n, v, d] = [name, version, dir].map(quoteForIPython);
  return `%tlt pull --model_name ${n} --version ${v} --dir ${d}`;
}
