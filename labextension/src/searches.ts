// A search's trials under it: the experiments list as entries (an experiment, or a search with its
// trials), and how a search reads in one line. No DOM here.

import { formatMetric } from './format';
import type { Experiment, Search, SearchTrial } from './types';

/** One row of the experiments list: an experiment on its own, or a search and its trials. */
export type ListEntry =
  | { kind: 'experiment'; key: string; experiment: Experiment }
  | { kind: 'search'; key: string; search: Search; trials: { experiment: Experiment; trial: SearchTrial }[] };

/**
 * The experiments as entries, in the listing's order: a search takes the place of its first trial
 * there (the running or newest one), its trials follow in the search's order (by folder).
 */
export function groupBySearch(experiments: readonly Experiment[], searches: readonly Search[] = []): ListEntry[] {
  const searchOf = new Map<string, Search>();
  for (const search of searches) {
    for (const trial of search.trials) {
      searchOf.set(trial.path, search);
    }
  }
  const byPath = new Map(experiments.map(e => [e.path, e]));
  const entries: ListEntry[] = [];
  const placed = new Set<string>();
  for (const experiment of experiments) {
    const search = searchOf.get(experiment.path);
    if (search === undefined) {
      entries.push({ kind: 'experiment', key: experiment.path, experiment });
    } else if (!placed.has(search.path)) {
      placed.add(search.path);
      const trials = search.trials
        .map(trial => ({ trial, experiment: byPath.get(trial.path) }))
        .filter((t): t is { trial: SearchTrial; experiment: Experiment } => t.experiment !== undefined);
      entries.push({ kind: 'search', key: `search:${search.path}`, search, trials });
    }
  }
  return entries;
}

/** The objective as people read it: "accuracy 81.0%", "mAP (moderate) 53.2%", "0.532" without a name. */
export function formatObjective(value: number, objective: string | null): string {
  if (objective === null) {
    return formatMetric('', value);
  }
  const bare = objective.replace(/\s*\(.*\)$/, ''); // "mAP (moderate)" is a fraction like "mAP"
  return `${objective} ${formatMetric(bare, value)}`;
}

/** A search in one line: "tune · 4 trials · best accuracy 81.0% (trial_0002)". */
export function searchFacts(search: Search): string {
  const trials = `${search.count} trial${search.count === 1 ? '' : 's'}`;
  const best = search.best
    ? `best ${formatObjective(search.best.value, search.objective)} (${search.best.path.split('/').pop()})`
    : 'no objective yet';
  return [search.kind, trials, best].join(' · ');
}

/** A trial in a few words: "complete · accuracy 81.0%", "pruned", "running". */
export function trialFacts(trial: SearchTrial, objective: string | null): string {
  return trial.value === null ? trial.state : `${trial.state} · ${formatObjective(trial.value, objective)}`;
}

/** The paths the search's "compare" action opens: its trials, the compare view's bound at most. */
export function compareTargets(search: Search, max = 64): string[] {
  return search.trials.map(t => t.path).slice(0, max);
}
