import * as React from 'react';

import { Message, Section } from './components';
import { formatBytes, formatMetrics } from './format';
import { splitModels } from './model';
import type { PullState, Remote } from './model';
import type { RegistryListing, RegistryModel } from './types';

export interface RegistryActions {
  insertPullCell(name: string, version: string): void;
  pull(name: string, version: string): void;
  refresh(): void;
}

/** The registry's models, each version with "Insert pull cell" and "Pull". */
export function RegistryView(props: {
  registry: Remote<RegistryListing>;
  pulls: ReadonlyMap<string, PullState>;
  actions: RegistryActions;
}): JSX.Element {
  const { registry, pulls, actions } = props;
  return (
    <Section title="Registry" testid="jp-tlt-registry" onRefresh={actions.refresh}>
      <RegistryBody registry={registry} pulls={pulls} actions={actions} />
    </Section>
  );
}

function RegistryBody({ registry, pulls, actions }: Parameters<typeof RegistryView>[0]): JSX.Element {
  const listing = registry.value;
  if (listing === null) {
    return registry.error === null ? (
      <Message kind="loading">Loading the registry…</Message>
    ) : (
      <Message kind="error">Could not read the registry: {registry.error}</Message>
    );
  }
  const { pullable, catalogue } = splitModels(listing.models);
  return (
    <>
      {registry.error !== null && (
        <Message kind="warning">Could not refresh: {registry.error}</Message>
      )}
      {pullable.length === 0 ? (
        <Message kind="empty">
          No model in the registry <code>{listing.registry}</code> has weights yet — pretrain one with{' '}
          <code>%tlt pretrain -e SPEC -r RESULTS --model_name NAME --version 1</code> or publish one
          with <code>%tlt push MODEL --model_name NAME --version 1</code>.
        </Message>
      ) : (
        <ModelList models={pullable} pulls={pulls} actions={actions} />
      )}
      {catalogue.length > 0 && (
        <details className="jp-tlt-catalogue" data-testid="jp-tlt-catalogue">
          <summary>
            {catalogue.length} more in the catalogue, with no version yet
          </summary>
          <ModelList models={catalogue} pulls={pulls} actions={actions} />
        </details>
      )}
    </>
  );
}

function ModelList(props: {
  models: readonly RegistryModel[];
  pulls: ReadonlyMap<string, PullState>;
  actions: RegistryActions;
}): JSX.Element {
  return (
    <ul className="jp-tlt-list">
      {props.models.map(model => (
        <ModelItem key={model.name} model={model} pulls={props.pulls} actions={props.actions} />
      ))}
    </ul>
  );
}

function ModelItem(props: {
  model: RegistryModel;
  pulls: ReadonlyMap<string, PullState>;
  actions: RegistryActions;
}): JSX.Element {
  const { model, pulls, actions } = props;
  const metrics = formatMetrics(model.metrics);
  const facts = [model.task, model.arch, formatInputSize(model.input_size)].filter(Boolean);
  return (
    <li className="jp-tlt-item jp-tlt-model" data-testid="jp-tlt-model" data-model={model.name}>
      <div className="jp-tlt-row">
        <span className="jp-tlt-name">{model.name}</span>
        {model.size !== null && <span className="jp-tlt-size">{formatBytes(model.size)}</span>}
      </div>
      <div className="jp-tlt-meta">{facts.join(' · ')}</div>
      {metrics && <div className="jp-tlt-meta jp-tlt-metrics">{metrics}</div>}
      {model.description && <div className="jp-tlt-description">{model.description}</div>}
      <ul className="jp-tlt-versions">
        {model.versions.map(version => (
          <VersionRow
            key={version}
            name={model.name}
            version={version}
            latest={version === model.latest}
            pull={pulls.get(`${model.name}@${version}`)}
            actions={actions}
          />
        ))}
      </ul>
    </li>
  );
}

function VersionRow(props: {
  name: string;
  version: string;
  latest: boolean;
  pull: PullState | undefined;
  actions: RegistryActions;
}): JSX.Element {
  const { name, version, latest, pull, actions } = props;
  const busy = pull?.state === 'starting' || pull?.state === 'running';
  return (
    <li className="jp-tlt-version" data-testid="jp-tlt-version" data-version={version}>
      <div className="jp-tlt-row">
        <span className="jp-tlt-version-label">
          v{version}
          {latest && <span className="jp-tlt-tag">latest</span>}
        </span>
        <span className="jp-tlt-buttons">
          <button
            className="jp-tlt-button jp-tlt-insert-pull"
            data-testid="jp-tlt-insert-pull"
            title={`Insert a %tlt pull cell for ${name} v${version} below the active notebook cell`}
            onClick={() => actions.insertPullCell(name, version)}
          >
            Insert pull cell
          </button>
          <button
            className="jp-tlt-button jp-tlt-pull"
            data-testid="jp-tlt-pull"
            title={`Pull ${name} v${version} into pretrained/ on the server`}
            disabled={busy}
            onClick={() => actions.pull(name, version)}
          >
            Pull
          </button>
        </span>
      </div>
      {pull && <PullProgress pull={pull} />}
    </li>
  );
}

function PullProgress({ pull }: { pull: PullState }): JSX.Element {
  const fraction = pull.total > 0 ? Math.min(1, pull.done / pull.total) : null;
  const text = {
    starting: 'Starting the pull…',
    running: fraction === null ? 'Pulling…' : `Pulling… ${Math.round(fraction * 100)}%`,
    finished: `Pulled to ${pull.path ?? 'pretrained'}`,
    failed: `Pull failed: ${pull.error ?? 'unknown error'}`
  }[pull.state];
  return (
    <div className="jp-tlt-pull-status" data-testid="jp-tlt-pull-status" data-state={pull.state}>
      {(pull.state === 'starting' || pull.state === 'running') && (
        <progress
          className="jp-tlt-pull-progress"
          data-testid="jp-tlt-pull-progress"
          max={1}
          value={fraction ?? undefined}
        />
      )}
      <span>{text}</span>
    </div>
  );
}

function formatInputSize(size: RegistryModel['input_size']): string {
  return Array.isArray(size) ? size.join('×') : (size ?? '');
}
