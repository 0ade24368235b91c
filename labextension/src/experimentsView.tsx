import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Message, Section } from './components';
import { formatBestMetric, formatBytes, formatEpochs } from './format';
import { galleryFolders } from './gallery';
import { paginate, type Remote } from './model';
import { distinguishingNames, historyRows, wrapPieces } from './names';
import { groupBySearch, trialFacts, type ListEntry } from './searches';
import { SearchRow } from './searchView';
import { epochTiming, formatDuration } from './timing';
import type { Experiment, ExperimentDetail, ExperimentListing, LineageAnswer, SearchTrial } from './types';

export interface ExperimentsActions {
  toggle(path: string): void;
  showMore(): void;
  open(path: string): void;
  refresh(): void;
  select(path: string, selected: boolean): void;
  compare(paths: string[]): void;
  stop(path: string): void;
  tensorboard(path: string): void;
  gallery(path: string): void;
  toggleSearch(path: string): void;
}

/** Every experiment under the root, a page at a time, each expandable to its artifacts. */
export function ExperimentsView(props: {
  experiments: Remote<ExperimentListing>;
  pages: number;
  expanded: ReadonlySet<string>;
  details: ReadonlyMap<string, Remote<ExperimentDetail>>;
  lineages: ReadonlyMap<string, Remote<LineageAnswer>>;
  selected: ReadonlySet<string>;
  stopping: ReadonlySet<string>;
  expandedSearches: ReadonlySet<string>;
  actions: ExperimentsActions;
}): JSX.Element {
  return (
    <Section title="Experiments" testid="jp-tlt-experiments" onRefresh={props.actions.refresh}>
      <ExperimentsBody {...props} />
    </Section>
  );
}

function ExperimentsBody(props: Parameters<typeof ExperimentsView>[0]): JSX.Element {
  const { experiments, pages, expanded, details, lineages, selected, stopping, expandedSearches, actions } = props;
  const listing = experiments.value;
  if (listing === null) {
    return experiments.error === null ? (
      <Message kind="loading">Loading experiments…</Message>
    ) : (
      <Message kind="error">Could not list the experiments: {experiments.error}</Message>
    );
  }
  const entries = groupBySearch(listing.experiments, listing.searches); // linear: no memo needed
  const { shown, remaining } = paginate(entries, pages);
  const names = distinguishingNames(listing.experiments.map(e => e.path));
  const row = (experiment: Experiment, trial?: SearchTrial, objective?: string | null) => (
    <ExperimentRow
      key={experiment.path}
      experiment={experiment}
      expanded={expanded.has(experiment.path)}
      detail={details.get(experiment.path)}
      lineage={lineages.get(experiment.path)}
      shortName={trial ? experiment.path.split('/').pop()! : names.get(experiment.path) ?? experiment.path}
      selected={selected.has(experiment.path)}
      stopping={stopping.has(experiment.path)}
      trial={trial}
      objective={objective}
      actions={actions}
    />
  );
  const entry = (item: ListEntry) =>
    item.kind === 'experiment' ? (
      row(item.experiment)
    ) : (
      <SearchRow
        key={item.key}
        search={item.search}
        expanded={expandedSearches.has(item.search.path)}
        actions={actions}
      >
        {item.trials.map(({ experiment, trial }) => row(experiment, trial, item.search.objective))}
      </SearchRow>
    );
  const ticked = listing.experiments.filter(e => selected.has(e.path)).map(e => e.path);
  return (
    <>
      {ticked.length > 0 && (
        <div className="jp-tlt-compare-bar">
          <button
            className="jp-tlt-button"
            data-testid="jp-tlt-compare"
            disabled={ticked.length < 2}
            title={ticked.length < 2 ? 'Tick two or more experiments to compare them' : ticked.join('\n')}
            onClick={() => actions.compare(ticked)}
          >
            Compare {ticked.length} runs
          </button>
        </div>
      )}
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
        <ul className="jp-tlt-list">{shown.map(entry)}</ul>
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
  lineage: Remote<LineageAnswer> | undefined;
  shortName: string;
  selected: boolean;
  stopping: boolean;
  /** Its outcome in a search, for a trial shown under its search. */
  trial?: SearchTrial;
  objective?: string | null;
  actions: ExperimentsActions;
}): JSX.Element {
  const { experiment, expanded, detail, lineage, actions } = props;
  const Caret = expanded ? caretDownIcon : caretRightIcon;
  const running = experiment.status === 'running';
  const timing = running && detail?.value ? epochTiming(detail.value.history, experiment.epoch, experiment.epochs) : null;
  const facts = [
    props.trial && trialFacts(props.trial, props.objective ?? null),
    experiment.task,
    experiment.arch,
    formatEpochs(experiment),
    formatBestMetric(experiment),
    timing && `${formatDuration(timing.perEpoch)}/epoch`,
    timing?.eta !== null && timing?.eta !== undefined && `ETA ${formatDuration(timing.eta)}`
  ];
  return (
    <li
      className="jp-tlt-item jp-tlt-experiment"
      data-testid="jp-tlt-experiment"
      data-path={experiment.path}
      data-status={experiment.status}
      data-trial-state={props.trial?.state}
    >
      <div className="jp-tlt-row">
      <input
        type="checkbox"
        className="jp-tlt-select"
        data-testid="jp-tlt-select"
        aria-label={`Compare ${experiment.path}`}
        checked={props.selected}
        onChange={event => actions.select(experiment.path, event.currentTarget.checked)}
      />
      <button
        className="jp-tlt-experiment-toggle"
        data-testid="jp-tlt-experiment-toggle"
        aria-expanded={expanded}
        title={experiment.updated ? `${experiment.path} — updated ${experiment.updated}` : experiment.path}
        onClick={() => actions.toggle(experiment.path)}
      >
        <Caret.react tag="span" className="jp-tlt-caret" />
        <span className="jp-tlt-name jp-tlt-path">{props.shortName}</span>
        <span
          className={`jp-tlt-status jp-tlt-status-${experiment.status}`}
          data-testid="jp-tlt-status"
          title={experiment.stopped ? `process gone; last seen ${experiment.stopped}` : undefined}
        >
          {experiment.status}
        </span>
      </button>
      {running && (
        <button
          className="jp-tlt-button jp-tlt-stop"
          data-testid="jp-tlt-stop"
          disabled={props.stopping}
          title="Stop after the next checkpoint; training the same results directory again resumes it"
          onClick={() => actions.stop(experiment.path)}
        >
          {props.stopping ? 'Stopping…' : 'Stop'}
        </button>
      )}
      </div>
      <div className="jp-tlt-meta">{facts.filter(Boolean).join(' · ')}</div>
      {expanded && detail?.value?.artifacts.some(a => a.name.startsWith('tensorboard/')) && (
        <button
          className="jp-tlt-button jp-tlt-tensorboard"
          data-testid="jp-tlt-tensorboard"
          title="Start (or reuse) a TensorBoard for this run behind Jupyter's login, and open it in a tab"
          onClick={() => actions.tensorboard(experiment.path)}
        >
          Open in TensorBoard
        </button>
      )}
      {expanded && detail?.value && <GalleryLinks detail={detail.value} open={actions.gallery} />}
      {expanded && <History lineage={lineage} open={actions.open} />}
      {expanded && <Artifacts detail={detail} open={actions.open} />}
    </li>
  );
});

/** A button per inference run among the artifacts: its images as a gallery in the main area. */
function GalleryLinks(props: { detail: ExperimentDetail; open: (path: string) => void }): JSX.Element | null {
  const folders = galleryFolders(props.detail.artifacts);
  if (folders.length === 0) {
    return null;
  }
  return (
    <div className="jp-tlt-gallery-links">
      {folders.map(folder => (
        <button
          key={folder.path}
          className="jp-tlt-button"
          data-testid="jp-tlt-gallery-open"
          data-path={folder.path}
          title={`Open the annotated images of ${folder.path} as a gallery, with their detections`}
          onClick={() => props.open(folder.path)}
        >
          Gallery: {folder.path.split('/').pop()}/ ({folder.images} images)
        </button>
      ))}
    </div>
  );
}

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
            <span className="jp-tlt-artifact-name">{withBreaks(artifact.name)}</span>
            <span className="jp-tlt-tag jp-tlt-kind">{artifact.kind}</span>
            <span className="jp-tlt-size">{formatBytes(artifact.size)}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** A lineage as one history, newest first (like jupyterlab-git's log): each model, its figures, a click to it. */
function History(props: {
  lineage: Remote<LineageAnswer> | undefined;
  open: (path: string) => void;
}): JSX.Element | null {
  const value = props.lineage?.value ?? null;
  const error = props.lineage?.error ?? null;
  if (value === null) {
    return error === null ? null : <Message kind="warning">Could not read the history: {error}</Message>;
  }
  if (value.nodes.length === 0) {
    return null;
  }
  return (
    <ol className="jp-tlt-history" data-testid="jp-tlt-history" aria-label="Model history, newest first">
      {historyRows(value.nodes).map(({ node, label }, i) => {
        const name = node.reference ?? node.path ?? node.name ?? '?';
        const files = Object.entries(node.files);
        return (
          <li
            key={`${i}-${name}`}
            className="jp-tlt-history-node"
            data-testid="jp-tlt-lineage-node"
            data-step={node.step}
            data-path={node.path ?? ''}
          >
            <span className="jp-tlt-tag jp-tlt-step">{label}</span>
            {node.path !== null && node.exists !== false ? (
              <button
                className="jp-tlt-artifact jp-tlt-history-open"
                title={`Open ${node.path}`}
                onClick={() => props.open(node.path!)}
              >
                <span className="jp-tlt-artifact-name">{withBreaks(name)}</span>
              </button>
            ) : (
              <span
                className="jp-tlt-artifact-name jp-tlt-history-outside"
                title={node.outside ? `${name}: outside the experiments folder` : name}
              >
                {withBreaks(name)}
              </span>
            )}
            {node.summary && <div className="jp-tlt-meta">{node.summary}</div>}
            {files.length > 0 && (
              <div className="jp-tlt-history-files">
                {files.map(([kind, path]) => (
                  <button
                    key={kind}
                    className="jp-tlt-artifact jp-tlt-history-file"
                    title={`Open ${path}`}
                    onClick={() => props.open(path)}
                  >
                    <span className="jp-tlt-tag jp-tlt-kind">{kind}</span>
                  </button>
                ))}
              </div>
            )}
          </li>
        );
      })}
    </ol>
  );
}

/** A name with a line-break opportunity after each separator (`/ _ . -`), never inside a word. */
function withBreaks(name: string): React.ReactNode[] {
  return wrapPieces(name).flatMap((piece, i, pieces) =>
    i < pieces.length - 1 ? [piece, <wbr key={i} />] : [piece]
  );
}
