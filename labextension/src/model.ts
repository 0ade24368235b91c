// The sidebar's state: handshake, registry, experiments (polled), expanded details
// and pull jobs. No DOM here: views render it and call its methods.

import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import type { TltApi } from './api';
import { endedRuns } from './timing';
import type {
  Experiment,
  ExperimentDetail,
  ExperimentListing,
  Job,
  LineageAnswer,
  RegistryListing,
  RegistryModel,
  VersionInfo
} from './types';

/** Experiments rendered per "Show more" page. */
export const PAGE_SIZE = 50;
/** Milliseconds between two refreshes of the experiments while the sidebar is visible. */
export const POLL_INTERVAL = 3000;
/** Milliseconds between two looks at a running pull job. */
export const JOB_INTERVAL = 1000;

/** Something fetched: not yet (both null), its last value, and the last error if any. */
export interface Remote<T> {
  readonly value: T | null;
  readonly error: string | null;
}

export type Handshake =
  | { kind: 'checking' }
  | { kind: 'ok' }
  | { kind: 'disabled' }
  | { kind: 'mismatch'; server: string; client: string }
  | { kind: 'error'; message: string };

/** A pull started from the sidebar: the job's latest state. */
export interface PullState {
  readonly state: 'starting' | Job['state'];
  readonly done: number;
  readonly total: number;
  readonly path?: string;
  readonly error?: string;
}

/** The outcome of GET version, as a state of the sidebar. */
export function decideHandshake(
  client: VersionInfo,
  result: { answer: VersionInfo } | { error: unknown }
): Handshake {
  if ('error' in result) {
    const status = (result.error as { status?: unknown } | null)?.status;
    // 404: no such route (server extension not loaded); 0: no server answered.
    if (status === 404 || status === 0) {
      return { kind: 'disabled' };
    }
    return { kind: 'error', message: errorMessage(result.error) };
  }
  const { version, api } = result.answer;
  if (version === client.version && api === client.api) {
    return { kind: 'ok' };
  }
  return { kind: 'mismatch', server: String(version), client: client.version };
}

/** Running experiments first; otherwise the server's order (newest first) is kept. */
export function orderExperiments(experiments: readonly Experiment[]): Experiment[] {
  const rank = (e: Experiment) => (e.status === 'running' ? 0 : 1);
  return [...experiments].sort((a, b) => rank(a) - rank(b));
}

/**
 * The next list, reusing the previous objects whose content did not change
 * (matched by key), and the previous array itself when nothing changed, so that
 * memoized rows skip re-rendering: polling does not flicker.
 */
export function reconcile<T>(previous: T[], next: T[], key: (item: T) => string): T[] {
  const before = new Map(previous.map(item => [key(item), item]));
  const merged = next.map(item => {
    const old = before.get(key(item));
    return old !== undefined && sameJSON(old, item) ? old : item;
  });
  const unchanged =
    merged.length === previous.length && merged.every((item, i) => item === previous[i]);
  return unchanged ? previous : merged;
}

/** The models that have versions (can be pulled), and the catalogue entries with none yet. */
export function splitModels(models: readonly RegistryModel[]): {
  pullable: RegistryModel[];
  catalogue: RegistryModel[];
} {
  return {
    pullable: models.filter(m => m.versions.length > 0),
    catalogue: models.filter(m => m.versions.length === 0)
  };
}

/** The first `pages` pages of a list, and how many items are left after them. */
export function paginate<T>(
  items: readonly T[],
  pages: number,
  size = PAGE_SIZE
): { shown: readonly T[]; remaining: number } {
  const shown = items.slice(0, Math.max(1, pages) * size);
  return { shown, remaining: items.length - shown.length };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sameJSON(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

export class SidebarModel {
  constructor(
    private readonly _api: TltApi,
    private readonly _client: VersionInfo
  ) {
    this._poll = new Poll({
      auto: false,
      factory: () => this.refreshExperiments(),
      frequency: { interval: POLL_INTERVAL, backoff: true, max: 10 * POLL_INTERVAL },
      name: 'jupyter-tlt:experiments',
      // Poll only while the sidebar is shown and the browser tab is visible.
      standby: () => !this._visible || 'when-hidden'
    });
  }

  /** Emitted with the experiments that were running at the last poll and have ended since. */
  get ended(): ISignal<this, Experiment[]> {
    return this._ended;
  }

  /** Emitted after any change of the state below. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  handshake: Handshake = { kind: 'checking' };
  registry: Remote<RegistryListing> = { value: null, error: null };
  experiments: Remote<ExperimentListing> = { value: null, error: null };
  /** Pages of experiments to render (PAGE_SIZE each). */
  pages = 1;
  /** Paths of the experiments whose artifacts are shown. */
  readonly expanded = new Set<string>();
  /** Details of the expanded experiments, by path. */
  readonly details = new Map<string, Remote<ExperimentDetail>>();
  /** Lineage of the expanded experiments' newest models, by experiment path. */
  readonly lineages = new Map<string, Remote<LineageAnswer>>();
  /** Experiments asked to stop (until they are no longer running). */
  readonly stopping = new Set<string>();
  /** Searches (by folder) whose trials are shown. */
  readonly expandedSearches = new Set<string>();
  /** Experiments ticked for a comparison, in the order they were ticked. */
  readonly selected = new Set<string>();
  /** Pulls started in this session, by `name@version`. */
  readonly pulls = new Map<string, PullState>();

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Whether the sidebar is shown: the first show starts the handshake, later ones refresh at once. */
  set visible(visible: boolean) {
    this._visible = visible;
    if (!visible || this.isDisposed) {
      return;
    }
    if (!this._started) {
      void this.connect();
    } else if (this.handshake.kind === 'ok') {
      void this._poll.refresh();
    }
  }

  /** Ask the server extension for its version; when it matches, load the registry and start polling. */
  async connect(): Promise<void> {
    this._started = true;
    this._set(() => (this.handshake = { kind: 'checking' }));
    let result: { answer: VersionInfo } | { error: unknown };
    try {
      result = { answer: await this._api.version() };
    } catch (error) {
      result = { error };
    }
    this._set(() => (this.handshake = decideHandshake(this._client, result)));
    if (this.handshake.kind === 'ok') {
      void this.refreshRegistry();
      void this._poll.start();
    }
  }

  async refreshRegistry(): Promise<void> {
    try {
      const listing = await this._api.models();
      this._set(() => (this.registry = { value: listing, error: null }));
    } catch (error) {
      this._set(() => (this.registry = { ...this.registry, error: errorMessage(error) }));
    }
  }

  /** Fetch the experiments, and the details of the expanded ones; what the poll runs. */
  async refreshExperiments(): Promise<void> {
    let listing: ExperimentListing;
    try {
      listing = await this._api.experiments();
    } catch (error) {
      this._set(() => (this.experiments = { ...this.experiments, error: errorMessage(error) }));
      throw error; // the poll backs off
    }
    const previous = this.experiments.value?.experiments ?? [];
    const experiments = reconcile(previous, orderExperiments(listing.experiments), e => e.path);
    const before = this.experiments.value?.searches ?? [];
    const searches = reconcile(before, listing.searches ?? [], s => s.path);
    const unchanged =
      experiments === previous &&
      searches === before &&
      listing.root === this.experiments.value?.root &&
      this.experiments.error === null;
    if (!unchanged) {
      const ended = endedRuns(previous, experiments);
      this._set(() => {
        this.experiments = { value: { ...listing, experiments, searches }, error: null };
        ended.forEach(e => this.stopping.delete(e.path));
      });
      if (ended.length > 0) {
        this._ended.emit(ended);
      }
    }
    await Promise.all([...this.expanded].map(path => this._loadDetail(path)));
  }

  showMore(): void {
    this._set(() => (this.pages += 1));
  }

  /** Show or hide the artifacts of an experiment. */
  toggle(path: string): void {
    if (this.expanded.delete(path)) {
      this._set(() => {
        this.details.delete(path);
        this.lineages.delete(path);
      });
      return;
    }
    this._set(() => this.expanded.add(path));
    void this._loadDetail(path);
  }

  /** Show or hide the trials of a search. */
  toggleSearch(path: string): void {
    this._set(() => (this.expandedSearches.delete(path) || this.expandedSearches.add(path)));
  }

  /** Ask the server to stop a running training after its next checkpoint; throws the server's refusal. */
  async stop(path: string): Promise<void> {
    this._set(() => this.stopping.add(path));
    try {
      await this._api.stop(path);
    } catch (error) {
      this._set(() => this.stopping.delete(path));
      throw error;
    }
  }

  /** Tick or untick an experiment for the comparison. */
  select(path: string, selected: boolean): void {
    this._set(() => (selected ? this.selected.add(path) : this.selected.delete(path)));
  }

  /** Pull a model version into the server's `pretrained` folder, following the job until it ends. */
  async pull(name: string, version: string): Promise<void> {
    const key = `${name}@${version}`;
    const update = (state: PullState) => this._set(() => this.pulls.set(key, state));
    update({ state: 'starting', done: 0, total: 0 });
    try {
      const { job } = await this._api.pull(name, version);
      let status = await this._api.job(job);
      update(status);
      while (status.state === 'running' && !this.isDisposed) {
        await new Promise(resolve => setTimeout(resolve, JOB_INTERVAL));
        status = await this._api.job(job);
        update(status);
      }
    } catch (error) {
      update({ state: 'failed', done: 0, total: 0, error: errorMessage(error) });
    }
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _loadDetail(path: string): Promise<void> {
    await Promise.all([this._loadOne(path), this._loadLineage(path)]);
  }

  private async _loadLineage(path: string): Promise<void> {
    const previous = this.lineages.get(path) ?? { value: null, error: null };
    let next: Remote<LineageAnswer>;
    try {
      const value = await this._api.lineage(path);
      next = { value: sameJSON(previous.value, value) ? previous.value : value, error: null };
    } catch (error) {
      next = { ...previous, error: errorMessage(error) };
    }
    if (this.expanded.has(path) && !sameJSON(previous, next)) {
      this._set(() => this.lineages.set(path, next));
    }
  }

  private async _loadOne(path: string): Promise<void> {
    const previous = this.details.get(path) ?? { value: null, error: null };
    let next: Remote<ExperimentDetail>;
    try {
      const value = await this._api.experiment(path);
      next = { value: sameJSON(previous.value, value) ? previous.value : value, error: null };
    } catch (error) {
      next = { ...previous, error: errorMessage(error) };
    }
    if (this.expanded.has(path) && !sameJSON(previous, next)) {
      this._set(() => this.details.set(path, next));
    }
  }

  private _set(change: () => unknown): void {
    change();
    this._changed.emit();
  }

  private readonly _changed = new Signal<this, void>(this);
  private readonly _ended = new Signal<this, Experiment[]>(this);
  private readonly _poll: Poll;
  private _started = false;
  private _visible = false;
}
