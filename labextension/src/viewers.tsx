// Document viewers for jupyter-tlt's files (metrics.json, status.jsonl, .keras/.h5, .onnx, prune reports,
// TensorBoard event files), rendered from the server's JSON (GET view/<path>), registered with the
// document registry so that they also open from the file browser.

import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget,
  type IDocumentWidget
} from '@jupyterlab/docregistry';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ApiError, type TltApi } from './api';
import { Chart, color } from './compareView';
import { Message } from './components';
import { formatBytes, formatNumber } from './format';
import { errorMessage } from './model';
import type { CompareRun, ViewAnswer } from './types';

/** File types the viewers open by default; binary ones load as base64 so the lab never decodes them as text. */
export const FILE_TYPES: Partial<DocumentRegistry.IFileType>[] = [
  { name: 'tlt-metrics', displayName: 'Evaluation metrics', pattern: '(^|/)metrics\\.json$', extensions: [], fileFormat: 'text', contentType: 'file', mimeTypes: ['application/json'] },
  { name: 'tlt-events', displayName: 'Training events', pattern: '(^|/)status\\.jsonl$', extensions: [], fileFormat: 'text', contentType: 'file', mimeTypes: ['text/plain'] },
  { name: 'tlt-prune-report', displayName: 'Prune report', pattern: '_prune_report\\.json$', extensions: [], fileFormat: 'text', contentType: 'file', mimeTypes: ['application/json'] },
  { name: 'tlt-keras', displayName: 'Keras model', extensions: ['.keras', '.hdf5', '.h5'], fileFormat: 'base64', contentType: 'file', mimeTypes: ['application/octet-stream'] },
  { name: 'tlt-onnx', displayName: 'ONNX model', extensions: ['.onnx'], fileFormat: 'base64', contentType: 'file', mimeTypes: ['application/octet-stream'] },
  { name: 'tlt-tfevents', displayName: 'TensorBoard events', pattern: 'tfevents', extensions: [], fileFormat: 'base64', contentType: 'file', mimeTypes: ['application/octet-stream'] }
];

/** The viewer's content: asks the server for the file's JSON and renders it. */
export class ViewerContent extends ReactWidget {
  constructor(
    private readonly _api: TltApi,
    readonly path: string
  ) {
    super();
    this.addClass('jp-tlt-viewer');
    this.node.dataset.testid = 'jp-tlt-viewer';
    void this.load();
  }

  async load(): Promise<void> {
    try {
      this._answer = await this._api.view(this.path);
      this._error = null;
    } catch (error) {
      this._unviewable = error instanceof ApiError && error.status === 415;
      this._error = errorMessage(error);
    }
    this.update();
  }

  protected render(): JSX.Element {
    if (this._answer === null) {
      if (this._error === null) {
        return <Message kind="loading">Reading {this.path}…</Message>;
      }
      return this._unviewable ? (
        <Message kind="empty">
          {this.path.includes('tfevents')
            ? 'A TensorBoard event file (binary): open its run in TensorBoard to read it.'
            : `A binary file: ${this._error}`}
        </Message>
      ) : (
        <Message kind="error">Could not read {this.path}: {this._error}</Message>
      );
    }
    const view = this._answer;
    this.node.dataset.kind = view.kind;
    return (
      <div className="jp-tlt-viewer-body">
        {view.kind === 'metrics' && <MetricsView view={view} />}
        {view.kind === 'events' && <EventsView view={view} name={this.path} />}
        {(view.kind === 'keras' || view.kind === 'onnx') && <ModelView view={view} />}
        {view.kind === 'prune_report' && <PruneView view={view} />}
      </div>
    );
  }

  private _answer: ViewAnswer | null = null;
  private _error: string | null = null;
  private _unviewable = false;
}

/** Opens the files of FILE_TYPES in a ViewerContent; `toApiPath` maps a lab path to the API's. */
export class ViewerFactory extends ABCWidgetFactory<IDocumentWidget<ViewerContent>> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<IDocumentWidget<ViewerContent>>,
    private readonly _api: TltApi,
    private readonly _toApiPath: (path: string) => string
  ) {
    super(options);
  }

  protected createNewWidget(context: DocumentRegistry.Context): IDocumentWidget<ViewerContent> {
    const content = new ViewerContent(this._api, this._toApiPath(context.path));
    const widget = new DocumentWidget({ content, context });
    widget.title.iconClass = 'jp-MaterialIcon jp-FileIcon';
    return widget;
  }
}

const pct = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '—');

function Facts(props: { rows: [string, React.ReactNode][] }): JSX.Element {
  return (
    <table className="jp-tlt-table jp-tlt-facts">
      <tbody>
        {props.rows.map(([name, value]) => (
          <tr key={name}>
            <th>{name}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MetricsView(props: { view: ViewAnswer }): JSX.Element {
  const v = props.view as any;
  if (v.task === 'classification') {
    return (
      <>
        <h3>Classification metrics</h3>
        <Facts rows={[['samples', v.num_samples], ['top-1 accuracy', pct(v.top1)], [`top-${v.k ?? 5} accuracy`, pct(v.top5)]]} />
      </>
    );
  }
  const levels: string[] = v.levels ?? Object.keys(v.mAP ?? {});
  const classes: string[] = v.class_names ?? Object.keys(v.ap ?? {});
  const level = levels.includes('moderate') ? 'moderate' : levels[0];
  const runs: CompareRun[] = classes.map(c => ({
    path: c, name: c, task: 'detection', arch: null, status: 'finished', epoch: null, epochs: null, metric: null, final: {},
    history: ((v.curves?.[c]?.[level]?.recall ?? []) as number[]).map((r, i) => ({
      epoch: r, precision: v.curves[c][level].precision[i]
    }))
  }));
  return (
    <>
      <h3>Mean average precision ({v.mode ?? 'KITTI'}, {v.num_images} images)</h3>
      <table className="jp-tlt-table" data-testid="jp-tlt-map-table">
        <thead>
          <tr>
            <th>class</th>
            {levels.map(lv => (
              <th key={lv}>{lv}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {classes.map(c => (
            <tr key={c}>
              <th>{c}</th>
              {levels.map(lv => (
                <td key={lv}>{pct(v.ap?.[c]?.[lv])}</td>
              ))}
            </tr>
          ))}
          <tr>
            <th>mAP</th>
            {levels.map(lv => (
              <td key={lv}>
                <b>{pct(v.mAP?.[lv])}</b>
              </td>
            ))}
          </tr>
        </tbody>
      </table>
      {runs.some(r => r.history.length > 0) && (
        <>
          <h3>Precision against recall, level {level}</h3>
          <ul className="jp-tlt-legend">
            {classes.map((c, i) => (
              <li key={c}>
                <span className="jp-tlt-swatch" style={{ background: color(i) }} />
                {c}
              </li>
            ))}
          </ul>
          <div className="jp-tlt-charts">
            <Chart name="precision" runs={runs} xLabel="recall" />
          </div>
        </>
      )}
    </>
  );
}

function EventsView(props: { view: ViewAnswer; name: string }): JSX.Element {
  const history = (props.view.history ?? []) as Record<string, unknown>[];
  const run: CompareRun = {
    path: props.name, name: props.name, task: null, arch: null, status: 'finished', epoch: null, epochs: null,
    metric: null, final: {}, history
  };
  const keys = [...new Set(history.flatMap(r => Object.keys(r)))].filter(
    k => k !== 'epoch' && k !== 'time' && history.some(r => typeof r[k] === 'number')
  );
  const events = Object.entries((props.view.events ?? {}) as Record<string, number>);
  return (
    <>
      <h3>Training curves ({history.length} epochs)</h3>
      <div className="jp-tlt-charts">
        {keys.map(k => (
          <Chart key={k} name={k} runs={[run]} />
        ))}
      </div>
      <h3>Events</h3>
      <Facts rows={events.map(([name, n]) => [name, n])} />
    </>
  );
}

function ModelView(props: { view: ViewAnswer }): JSX.Element {
  const v = props.view as any;
  const shape = (s: unknown) => (Array.isArray(s) ? `[${s.map(d => (d === null ? '?' : d)).join(', ')}]` : '?');
  const info = (v.info ?? {}) as Record<string, unknown>;
  const rows: [string, React.ReactNode][] = [
    ['inputs', (v.inputs ?? []).map((i: any) => `${i.name} ${shape(i.shape)}`).join('; ')],
    ['outputs', (v.outputs ?? []).map((o: any) => (typeof o === 'string' ? o : `${o.name} ${shape(o.shape)}`)).join('; ')],
    ['parameters', typeof v.parameters === 'number' ? v.parameters.toLocaleString() : '—'],
    ['precision', Array.isArray(v.precision) ? v.precision.join(', ') : String(v.precision ?? '—')],
    ['file size', formatBytes(v.size)]
  ];
  if (v.kind === 'onnx') {
    rows.push(['opset', v.opset], ['nodes', v.nodes], ['producer', v.producer]);
  } else {
    rows.push(['layers', v.layers]);
  }
  for (const key of ['task', 'class_names', 'input_shape', 'exported_from', 'data_type']) {
    if (info[key] !== undefined) {
      rows.push([key.replace('_', ' '), Array.isArray(info[key]) ? (info[key] as unknown[]).join(', ') : String(info[key])]);
    }
  }
  const lineage = (v.lineage ?? []) as { step: string; name: string; summary: string }[];
  return (
    <>
      <h3>{v.kind === 'onnx' ? 'ONNX model' : 'Keras model'}</h3>
      <Facts rows={rows} />
      {lineage.length > 0 && (
        <>
          <h3>Where it came from</h3>
          <ol className="jp-tlt-viewer-lineage" data-testid="jp-tlt-viewer-lineage">
            {lineage.map((n, i) => (
              <li key={i}>
                <b>{n.step}</b> {n.name} <span className="jp-tlt-meta">{n.summary}</span>
              </li>
            ))}
          </ol>
        </>
      )}
      {v.kind === 'onnx' ? (
        <>
          <h3>Operators</h3>
          <Facts rows={Object.entries(v.operators ?? {}).map(([op, n]) => [op, String(n)])} />
        </>
      ) : (
        <>
          <h3>Layers</h3>
          <table className="jp-tlt-table" data-testid="jp-tlt-layer-table">
            <thead>
              <tr>
                <th>layer</th>
                <th>class</th>
                <th>filters / units</th>
                <th>kernel</th>
                <th>strides</th>
                <th>activation</th>
              </tr>
            </thead>
            <tbody>
              {(v.table ?? []).map((l: any) => (
                <tr key={l.name}>
                  <th className="jp-tlt-field">{l.name}</th>
                  <td>{l.class}</td>
                  <td>{l.filters ?? l.units ?? ''}</td>
                  <td>{Array.isArray(l.kernel_size) ? l.kernel_size.join('×') : ''}</td>
                  <td>{Array.isArray(l.strides) ? l.strides.join('×') : ''}</td>
                  <td>{l.activation ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

function PruneView(props: { view: ViewAnswer }): JSX.Element {
  const v = props.view as any;
  return (
    <>
      <h3>Pruning of {v.model_path}</h3>
      <Facts
        rows={[
          ['parameters', `${v.params_before?.toLocaleString()} → ${v.params_after?.toLocaleString()} (${formatNumber(v.params_ratio ?? 0)})`],
          ['GFLOPs', `${formatNumber((v.flops_before ?? 0) / 1e9)} → ${formatNumber((v.flops_after ?? 0) / 1e9)}`],
          ['file size', `${formatBytes(v.file_bytes_before)} → ${formatBytes(v.file_bytes_after)}`],
          ['options', Object.entries(v.options ?? {}).map(([k, o]) => `${k}=${o}`).join(', ')]
        ]}
      />
      <h3>Layers</h3>
      <table className="jp-tlt-table">
        <thead>
          <tr>
            {Object.keys(v.layers?.[0] ?? {}).map(k => (
              <th key={k}>{k}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(v.layers ?? []).map((row: Record<string, unknown>, i: number) => (
            <tr key={i}>
              {Object.values(row).map((cell, j) => (
                <td key={j}>{cell === null || cell === undefined ? '' : String(cell)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
