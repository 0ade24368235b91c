import { compareTargets, formatObjective, groupBySearch, searchFacts, trialFacts } from '../searches';
import type { Experiment, Search } from '../types';

function experiment(path: string, status: Experiment['status'] = 'finished'): Experiment {
  return {
    path, name: path.split('/').pop()!, task: 'classification', arch: 'resnet', status, epoch: 1, epochs: 1,
    metric: null, updated: null, mtime: 1
  };
}

const SEARCH: Search = {
  path: 'runs/tune',
  name: 'tune',
  kind: 'tune',
  state: 'finished',
  objective: 'accuracy',
  count: 3,
  best: { path: 'runs/tune/trials/trial_0001', value: 0.81 },
  trials: [
    { path: 'runs/tune/trials/trial_0000', state: 'complete', value: 0.62 },
    { path: 'runs/tune/trials/trial_0001', state: 'complete', value: 0.81 },
    { path: 'runs/tune/trials/trial_0002', state: 'pruned', value: null }
  ]
};

describe('groupBySearch', () => {
  it('puts a search in the place of its first listed trial, with its trials in order under it', () => {
    const listed = [
      experiment('runs/detect'),
      experiment('runs/tune/trials/trial_0002', 'running'),
      experiment('runs/other'),
      experiment('runs/tune/trials/trial_0000'),
      experiment('runs/tune/trials/trial_0001')
    ];
    const entries = groupBySearch(listed, [SEARCH]);
    expect(entries.map(e => e.key)).toEqual(['runs/detect', 'search:runs/tune', 'runs/other']);
    const search = entries[1];
    expect(search.kind).toBe('search');
    if (search.kind === 'search') {
      expect(search.trials.map(t => t.experiment.path)).toEqual(SEARCH.trials.map(t => t.path));
      expect(search.trials[2].trial.state).toBe('pruned');
    }
  });

  it('lists every experiment flat without searches, and skips trials the listing lacks', () => {
    const listed = [experiment('a'), experiment('runs/tune/trials/trial_0000')];
    expect(groupBySearch(listed).map(e => e.kind)).toEqual(['experiment', 'experiment']);
    const [, search] = groupBySearch(listed, [SEARCH]);
    expect(search.kind === 'search' && search.trials.length).toBe(1);
  });
});

describe('search facts', () => {
  it('reads the kind, the number of trials and the best objective', () => {
    expect(searchFacts(SEARCH)).toBe('tune · 3 trials · best accuracy 81.0% (trial_0001)');
    expect(searchFacts({ ...SEARCH, count: 1, best: null })).toBe('tune · 1 trial · no objective yet');
  });

  it('shows a level-qualified mAP as a percentage and an unnamed objective as a number', () => {
    expect(formatObjective(0.5321, 'mAP (moderate)')).toBe('mAP (moderate) 53.2%');
    expect(formatObjective(0.5321, null)).toBe('0.532');
  });

  it('reads a trial as its state and objective', () => {
    expect(trialFacts(SEARCH.trials[1], 'accuracy')).toBe('complete · accuracy 81.0%');
    expect(trialFacts(SEARCH.trials[2], 'accuracy')).toBe('pruned');
  });

  it('compares the trials, at most as many as the compare view shows', () => {
    expect(compareTargets(SEARCH)).toEqual(SEARCH.trials.map(t => t.path));
    expect(compareTargets(SEARCH, 2)).toHaveLength(2);
  });
});
