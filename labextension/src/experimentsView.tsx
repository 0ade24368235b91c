import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Message, Section } from './components';
import { formatBestMetric, formatBytes, formatEpochs } from './format';
import { paginate, type Remote } from './model';
import type { Experiment, ExperimentDetail, ExperimentListing } from './types';

export interface ExperimentsActions {
  toggle(path: string): void;
  showMore(): void;
  open(path: string): void;
  refresh(): void;
}

/** Every experiment under the root, a page at a time, each expandable to its artifacts. */
export function ExperimentsView(props: {
  experiments: Remote<ExperimentListing>;
  pages: number;
  expanded: ReadonlySet<string>;
  details: ReadonlyMap<string, Remote<ExperimentDetail>>;
  actions: ExperimentsActions;
}): JSX.Element {
  return (
    <Section title="Experiments" testid="jp-tlt-experiments" onRefresh={props.actions.refresh}>
      <ExperimentsBody {...props} />
    </Section>
  );
}

function ExperimentsBody(props: Parameters<typeof ExperimentsView>[0]): JSX.Element {
  const { experiments, pages, expanded, details, actions } = props;
  const listing = experiments.value;
  if (listing === null) {
    return experiments.error === null ? (
      <Message kind="loading">Loading experiments…</Message>
    ) : (
      <Message kind="error">Could not list the experiments: {experiments.error}</Message>
    );
  }
  const { shown, remaining } = paginate(listing.experiments, pages);
  return (
    <>
      {experiments.error !== null && (
        <Message kind="warning">Could not refresh: {experiments.error}</Message>
      )}
      {shown.length === 0 ? (
        <Message kind="empty">
          No experiments under{' '}
          {listing.root ? <code>{listing.root}</code> : "the file browser's root folder"} yet — run{' '}
          <code>%tlt train detection -e SPEC -r RESULTS_DIR</code> in a notebook to start one.
        </Message>
      ) : (
        <ul className="jp-tlt-list">
          {shown.map(experiment => (
            <ExperimentRow
              key={experiment.path}
              experiment={experiment}
              expanded={expanded.has(experiment.path)}
              detail={details.get(experiment.path)}
              actions={actions}
            />
          ))}
        </ul>
      )}
      {remaining > 0 && (
        <button
          className="jp-tlt-button jp-tlt-show-more"
          data-testid="jp-tlt-show-more"
          onClick={actions.showMore}
        >
          Show more ({remaining} more)
        </button>
      )}
    </>
  );
}

/** One experiment; memoized, so a poll that changed nothing re-renders nothing. */
const ExperimentRow = React.memo(function ExperimentRow(props: {
  experiment: Experiment;
  expanded: boolean;
  detail: Remote<ExperimentDetail> | undefined;
  actions: ExperimentsActions;
}): JSX.Element {
  const { experiment, expanded, detail, actions } = props;
  const Caret = expanded ? caretDownIcon : caretRightIcon;
  const facts = [experiment.task, experiment.arch, formatEpochs(experiment), formatBestMetric(experiment)];
  return (
    <li
      className="jp-tlt-item jp-tlt-experiment"
      data-testid="jp-tlt-experiment"
      data-path={experiment.path}
      data-status={experiment.status}
    >
      <button
        className="jp-tlt-experiment-toggle"
        data-testid="jp-tlt-experiment-toggle"
        aria-expanded={expanded}
        title={experiment.updated ? `${experiment.path} — updated ${experiment.updated}` : experiment.path}
        onClick={() => actions.toggle(experiment.path)}
      >
        <Caret.react tag="span" className="jp-tlt-caret" />
        <span className="jp-tlt-name jp-tlt-path">{experiment.path}</span>
        <span
          className={`jp-tlt-status jp-tlt-status-${experiment.status}`}
          data-testid="jp-tlt-status"
          title={experiment.stopped ? `process gone; last seen ${experiment.stopped}` : undefined}
        >
          {experiment.status}
        </span>
      </button>
      <div className="jp-tlt-meta">{facts.filter(Boolean).join(' · ')}</div>
      {expanded && <Artifacts detail={detail} open={actions.open} />}
    </li>
  );
});

function Artifacts(props: {
  detail: Remote<ExperimentDetail> | undefined;
  open: (path: string) => void;
}): JSX.Element {
  const value = props.detail?.value ?? null;
  const error = props.detail?.error ?? null;
  if (value === null) {
    return error === null ? (
      <Message kind="loading">Loading artifacts…</Message>
    ) : (
      <Message kind="error">Could not read the experiment: {error}</Message>
    );
  }
  if (value.artifacts.length === 0) {
    return <Message kind="empty">No artifacts yet.</Message>;
  }
  return (
    <ul className="jp-tlt-artifacts" data-testid="jp-tlt-artifacts">
      {value.artifacts.map(artifact => (
        <li key={artifact.path}>
          <button
            className="jp-tlt-artifact"
            data-testid="jp-tlt-artifact"
            data-path={artifact.path}
            data-kind={artifact.kind}
            title={`Open ${artifact.path}`}
            onClick={() => props.open(artifact.path)}
          >
            <span className="jp-tlt-artifact-name">{withBreaksAfterSlashes(artifact.name)}</span>
            <span className="jp-tlt-tag jp-tlt-kind">{artifact.kind}</span>
            <span className="jp-tlt-size">{formatBytes(artifact.size)}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** `weights/model.keras` with a line-break opportunity after each slash (narrow sidebars wrap there). */
function withBreaksAfterSlashes(path: string): React.ReactNode[] {
  return path.split('/').flatMap((part, i, parts) =>
    i < parts.length - 1 ? [part, '/', <wbr key={i} />] : [part]
  );
}
