import { ApiError, type TltApi } from '../api';
import {
  decideHandshake,
  JOB_INTERVAL,
  orderExperiments,
  splitModels,
  PAGE_SIZE,
  paginate,
  reconcile,
  SidebarModel
} from '../model';
import type { CompareAnswer, Experiment, ExperimentDetail, Job, LineageAnswer, RegistryModel, Search, ViewAnswer } from '../types';

const CLIENT = { version: '0.1.0', api: 1 };

function experiment(path: string, overrides: Partial<Experiment> = {}): Experiment {
  return {
    path,
    name: path,
    task: 'detection',
    arch: 'resnet18',
    status: 'finished',
    epoch: 3,
    epochs: 3,
    metric: { name: 'mAP', value: 0.5 },
    updated: '2025-01-01T00:00:00Z',
    mtime: 1,
    ...overrides
  };
}

describe('decideHandshake', () => {
  it('is ok when version and API level match', () => {
    expect(decideHandshake(CLIENT, { answer: { version: '0.1.0', api: 1 } })).toEqual({ kind: 'ok' });
  });

  it('reports a mismatch of the version or of the API level', () => {
    expect(decideHandshake(CLIENT, { answer: { version: '0.2.0', api: 1 } })).toEqual({
      kind: 'mismatch',
      server: '0.2.0',
      client: '0.1.0'
    });
    expect(decideHandshake(CLIENT, { answer: { version: '0.1.0', api: 2 } }).kind).toBe('mismatch');
  });

  it('reads a missing route or no answer as a disabled server extension', () => {
    expect(decideHandshake(CLIENT, { error: new ApiError('Not Found', 404) })).toEqual({ kind: 'disabled' });
    expect(decideHandshake(CLIENT, { error: new ApiError('no answer', 0) })).toEqual({ kind: 'disabled' });
  });

  it('passes other errors on', () => {
    expect(decideHandshake(CLIENT, { error: new ApiError('Forbidden', 403) })).toEqual({
      kind: 'error',
      message: 'Forbidden'
    });
    expect(decideHandshake(CLIENT, { error: 'boom' })).toEqual({ kind: 'error', message: 'boom' });
  });
});

describe('orderExperiments', () => {
  it('puts running experiments first and keeps the newest-first order otherwise', () => {
    const list = [
      experiment('new', { status: 'failed' }),
      experiment('run-a', { status: 'running' }),
      experiment('mid', { status: 'interrupted' }),
      experiment('run-b', { status: 'running' }),
      experiment('old')
    ];
    expect(orderExperiments(list).map(e => e.path)).toEqual(['run-a', 'run-b', 'new', 'mid', 'old']);
    expect(list[0].path).toBe('new'); // the input is not sorted in place
  });
});

describe('splitModels', () => {
  it('separates the models that can be pulled from the catalogue, in the registry order', () => {
    const model = (name: string, versions: string[]) =>
      ({ name, versions, latest: versions[0] ?? null }) as RegistryModel;
    const models = [model('alexnet', []), model('resnet18', ['2', '1']), model('vgg16', []), model('mine', ['1'])];
    const { pullable, catalogue } = splitModels(models);
    expect(pullable.map(m => m.name)).toEqual(['resnet18', 'mine']);
    expect(catalogue.map(m => m.name)).toEqual(['alexnet', 'vgg16']);
  });
});

describe('reconcile', () => {
  const key = (e: Experiment) => e.path;

  it('returns the previous array when nothing changed', () => {
    const before = [experiment('a'), experiment('b')];
    const after = [experiment('a'), experiment('b')];
    expect(reconcile(before, after, key)).toBe(before);
  });

  it('reuses unchanged items and takes changed and new ones', () => {
    const before = [experiment('a'), experiment('b', { epoch: 1 })];
    const after = [experiment('c'), experiment('a'), experiment('b', { epoch: 2 })];
    const merged = reconcile(before, after, key);
    expect(merged.map(key)).toEqual(['c', 'a', 'b']);
    expect(merged[1]).toBe(before[0]);
    expect(merged[2]).toBe(after[2]);
    expect(merged[2].epoch).toBe(2);
  });

  it('drops removed items', () => {
    const before = [experiment('a'), experiment('b')];
    const merged = reconcile(before, [experiment('b')], key);
    expect(merged).toEqual([before[1]]);
    expect(merged[0]).toBe(before[1]);
  });
});

describe('paginate', () => {
  const items = Array.from({ length: 1000 }, (_, i) => i);

  it('shows a page of PAGE_SIZE and counts the rest', () => {
    const { shown, remaining } = paginate(items, 1);
    expect(shown).toHaveLength(PAGE_SIZE);
    expect(remaining).toBe(1000 - PAGE_SIZE);
  });

  it('grows a page at a time up to the whole list', () => {
    expect(paginate(items, 3).shown).toHaveLength(3 * PAGE_SIZE);
    expect(paginate(items, 100)).toEqual({ shown: items, remaining: 0 });
    expect(paginate(items.slice(0, 7), 1)).toEqual({ shown: items.slice(0, 7), remaining: 0 });
  });
});

/** The server extension's answers, held in memory. */
class MemoryApi implements TltApi {
  versionAnswer: () => Promise<{ version: string; api: number }> = async () => CLIENT;
  experimentList: Experiment[] = [];
  searchList: Search[] = [];
  jobStates: Job['state'][] = [];
  calls: string[] = [];

  version() {
    this.calls.push('version');
    return this.versionAnswer();
  }
  async models() {
    this.calls.push('models');
    return { registry: 'file:///registry', models: [] };
  }
  async pull(name: string, version: string) {
    this.calls.push(`pull ${name}@${version}`);
    return { job: 'j1' };
  }
  async job(id: string): Promise<Job> {
    const state = this.jobStates.shift() ?? 'finished';
    return { id, kind: 'pull', state, done: state === 'running' ? 5 : 10, total: 10, path: 'pretrained/m/1' };
  }
  async experiments() {
    this.calls.push('experiments');
    return {
      root: '/work',
      experiments: this.experimentList.map(e => ({ ...e })),
      searches: this.searchList.map(s => ({ ...s, trials: s.trials.map(t => ({ ...t })) }))
    };
  }
  async experiment(path: string): Promise<ExperimentDetail> {
    this.calls.push(`experiment ${path}`);
    const summary = this.experimentList.find(e => e.path === path);
    if (!summary) {
      throw new ApiError(`no experiment ${path}`, 404);
    }
    return {
      ...summary,
      info: {},
      history: [],
      artifacts: [{ path: `${path}/weights/model.keras`, name: 'model.keras', kind: 'model', size: 2048, mtime: 1 }]
    };
  }
  async lineage(path: string): Promise<LineageAnswer> {
    this.calls.push(`lineage ${path}`);
    const node = (step: string, file: string) => ({
      step, path: `${path}/${file}`, outside: false, experiment: path, figures: {}, files: {}, summary: ''
    });
    return { path, nodes: [node('train', 'weights/model.keras'), node('prune', 'prune/model_pruned.keras')] };
  }
  async compare(paths: string[]): Promise<CompareAnswer> {
    this.calls.push(`compare ${paths.join(',')}`);
    return { runs: [], spec_diff: [] };
  }
  async view(path: string): Promise<ViewAnswer> {
    this.calls.push(`view ${path}`);
    return { kind: 'metrics' };
  }
  async stop(path: string) {
    this.calls.push(`stop ${path}`);
    return { path, stop: 'requested' };
  }
  async tensorboard(path: string) {
    return { path, url: `/tlt/tensorboard/0123456789abcdef/` };
  }
  async gallery(path: string, offset: number, limit: number) {
    this.calls.push(`gallery ${path} ${offset} ${limit}`);
    return { path, total: 0, offset, limit, images: [] };
  }
  imageUrl(path: string, thumbnail: boolean) {
    return `/tlt/api/image/${path}${thumbnail ? '?thumbnail=1' : ''}`;
  }
}

describe('SidebarModel', () => {
  let api: MemoryApi;
  let model: SidebarModel;
  let changes: number;

  beforeEach(() => {
    api = new MemoryApi();
    model = new SidebarModel(api, CLIENT);
    changes = 0;
    model.changed.connect(() => (changes += 1));
  });

  afterEach(() => model.dispose());

  it('loads the registry once the handshake succeeds', async () => {
    await model.connect();
    expect(model.handshake).toEqual({ kind: 'ok' });
    await model.refreshRegistry();
    expect(model.registry).toEqual({ value: { registry: 'file:///registry', models: [] }, error: null });
  });

  it('stops at a disabled server extension', async () => {
    api.versionAnswer = () => Promise.reject(new ApiError('Not Found', 404));
    await model.connect();
    expect(model.handshake).toEqual({ kind: 'disabled' });
    expect(api.calls).toEqual(['version']);
  });

  it('keeps unchanged experiments and emits nothing when a poll changed nothing', async () => {
    api.experimentList = [experiment('a'), experiment('b', { status: 'running' })];
    await model.refreshExperiments();
    const first = model.experiments.value!.experiments;
    expect(first.map(e => e.path)).toEqual(['b', 'a']);

    const before = changes;
    await model.refreshExperiments();
    expect(changes).toBe(before);
    expect(model.experiments.value!.experiments).toBe(first);

    api.experimentList = [experiment('a'), experiment('b', { status: 'finished', epoch: 4 })];
    await model.refreshExperiments();
    const next = model.experiments.value!.experiments;
    expect(next.map(e => e.path)).toEqual(['a', 'b']);
    expect(next[0]).toBe(first[1]);
  });

  it('keeps the searches of the listing, reused while unchanged, and toggles a search open', async () => {
    api.experimentList = [experiment('s/trials/t0'), experiment('s/trials/t1')];
    api.searchList = [{
      path: 's', name: 's', kind: 'tune', state: 'finished', objective: 'accuracy', count: 2,
      best: { path: 's/trials/t1', value: 0.8 },
      trials: [{ path: 's/trials/t0', state: 'complete', value: 0.5 }, { path: 's/trials/t1', state: 'complete', value: 0.8 }]
    }];
    await model.refreshExperiments();
    const searches = model.experiments.value!.searches!;
    expect(searches.map(s => s.path)).toEqual(['s']);
    const before = changes;
    await model.refreshExperiments();
    expect(changes).toBe(before);
    expect(model.experiments.value!.searches).toBe(searches);

    api.searchList[0].state = 'running';
    await model.refreshExperiments();
    expect(model.experiments.value!.searches![0].state).toBe('running');

    model.toggleSearch('s');
    expect([...model.expandedSearches]).toEqual(['s']);
    model.toggleSearch('s');
    expect(model.expandedSearches.size).toBe(0);
  });

  it('keeps the last list and reports an error when a refresh fails', async () => {
    api.experimentList = [experiment('a')];
    await model.refreshExperiments();
    api.experiments = () => Promise.reject(new ApiError('server down', 500));
    await expect(model.refreshExperiments()).rejects.toThrow('server down');
    expect(model.experiments.value!.experiments.map(e => e.path)).toEqual(['a']);
    expect(model.experiments.error).toBe('server down');
  });

  it('loads the artifacts of an expanded experiment and refreshes them with the list', async () => {
    api.experimentList = [experiment('runs/a')];
    model.toggle('runs/a');
    expect(model.expanded.has('runs/a')).toBe(true);
    await model.refreshExperiments();
    expect(model.details.get('runs/a')!.value!.artifacts[0].kind).toBe('model');
    expect(api.calls.filter(c => c === 'experiment runs/a').length).toBe(2);

    model.toggle('runs/a');
    expect(model.details.has('runs/a')).toBe(false);
    await model.refreshExperiments();
    expect(api.calls.filter(c => c === 'experiment runs/a').length).toBe(2);
  });

  it('loads the lineage of an expanded experiment with its details, and forgets it when collapsed', async () => {
    api.experimentList = [experiment('runs/a')];
    model.toggle('runs/a');
    await model.refreshExperiments();
    const first = model.lineages.get('runs/a')!.value!;
    expect(first.nodes.map(n => n.step)).toEqual(['train', 'prune']);
    await model.refreshExperiments();
    expect(model.lineages.get('runs/a')!.value).toBe(first); // an unchanged answer keeps its object
    api.lineage = () => Promise.reject(new ApiError('unreadable', 400));
    await model.refreshExperiments();
    expect(model.lineages.get('runs/a')).toEqual({ value: first, error: 'unreadable' });
    model.toggle('runs/a');
    expect(model.lineages.has('runs/a')).toBe(false);
  });

  it('keeps the experiments ticked for a comparison in order', () => {
    model.select('runs/b', true);
    model.select('runs/a', true);
    model.select('runs/c', true);
    model.select('runs/a', false);
    expect([...model.selected]).toEqual(['runs/b', 'runs/c']);
    expect(changes).toBe(4);
  });

  it('tells when a running experiment ends, once', async () => {
    const ended: string[] = [];
    model.ended.connect((_, runs) => ended.push(...runs.map(r => `${r.path}:${r.status}`)));
    api.experimentList = [experiment('a', { status: 'running' })];
    await model.refreshExperiments();
    api.experimentList = [experiment('a', { status: 'failed' })];
    await model.refreshExperiments();
    await model.refreshExperiments();
    expect(ended).toEqual(['a:failed']);
  });

  it('asks the server to stop a run and reports a refusal', async () => {
    await model.stop('runs/a');
    expect(api.calls).toContain('stop runs/a');
    expect(model.stopping.has('runs/a')).toBe(true);
    api.stop = () => Promise.reject(new ApiError("'runs/a' is finished, not running", 409));
    await expect(model.stop('runs/a')).rejects.toThrow('not running');
    expect(model.stopping.has('runs/a')).toBe(false);
  });

  it('shows one more page at a time', () => {
    expect(model.pages).toBe(1);
    model.showMore();
    expect(model.pages).toBe(2);
  });

  it('follows a pull job until it finishes', async () => {
    jest.useFakeTimers();
    try {
      api.jobStates = ['running', 'running', 'finished'];
      const pulling = model.pull('resnet18', '1');
      await jest.advanceTimersByTimeAsync(0);
      expect(model.pulls.get('resnet18@1')).toMatchObject({ state: 'running', done: 5, total: 10 });
      await jest.advanceTimersByTimeAsync(2 * JOB_INTERVAL);
      await pulling;
      expect(model.pulls.get('resnet18@1')).toMatchObject({ state: 'finished', path: 'pretrained/m/1' });
      expect(api.calls).toContain('pull resnet18@1');
    } finally {
      jest.useRealTimers();
    }
  });

  it('reports a pull that could not start', async () => {
    api.pull = () => Promise.reject(new ApiError('unknown model nope', 400));
    await model.pull('nope', '1');
    expect(model.pulls.get('nope@1')).toMatchObject({ state: 'failed', error: 'unknown model nope' });
  });
});
