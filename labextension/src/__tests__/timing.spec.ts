import { endedRuns, epochTiming, formatDuration } from '../timing';
import type { Experiment } from '../types';

describe('epochTiming', () => {
  it('takes the median gap between epochs and the time left', () => {
    const history = [{ epoch: 1, time: 100 }, { epoch: 2, time: 110 }, { epoch: 3, time: 130 }, { epoch: 4, time: 142 }];
    expect(epochTiming(history, 4, 10)).toEqual({ perEpoch: 12, eta: 72 });
  });

  it('spreads a gap over the epochs it spans (a resumed run) and needs two timed epochs', () => {
    expect(epochTiming([{ epoch: 1, time: 0 }, { epoch: 3, time: 20 }], 3, 3)).toEqual({ perEpoch: 10, eta: 0 });
    expect(epochTiming([{ epoch: 1, time: 0 }], 1, 3)).toBeNull();
    expect(epochTiming([{ epoch: 1 }, { epoch: 2 }], 2, 3)).toBeNull();
    expect(epochTiming([{ epoch: 1, time: 0 }, { epoch: 2, time: 5 }], 2, null)).toEqual({ perEpoch: 5, eta: null });
  });
});

describe('formatDuration', () => {
  it('reads as seconds, minutes or hours', () => {
    expect(formatDuration(44.6)).toBe('45 s');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(7500)).toBe('2 h 05 min');
  });
});

describe('endedRuns', () => {
  const e = (path: string, status: Experiment['status']) =>
    ({ path, status, name: path, task: 'detection', arch: 'r', epoch: 1, epochs: 2, metric: null, updated: null, mtime: 0 }) as Experiment;

  it('names the runs that were running and are not any more', () => {
    const before = [e('a', 'running'), e('b', 'running'), e('c', 'finished'), e('d', 'running')];
    const after = [e('a', 'finished'), e('b', 'running'), e('c', 'finished'), e('d', 'failed'), e('new', 'finished')];
    expect(endedRuns(before, after).map(x => `${x.path}:${x.status}`)).toEqual(['a:finished', 'd:failed']);
  });
});
