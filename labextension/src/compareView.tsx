import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { TltApi } from './api';
import { curveKeys, extent, finalColumns, parallelAxes, PARALLEL_FROM, points } from './compare';
import { Message } from './components';
import { formatNumber } from './format';
import { errorMessage } from './model';
import { distinguishingNames } from './names';
import type { CompareAnswer, CompareRun } from './types';

/** Series colours: JupyterLab's brand, accent, warn, success and error colours, then the same again. */
const COLORS = [
  'var(--jp-brand-color1)',
  'var(--jp-accent-color1)',
  'var(--jp-warn-color1)',
  'var(--jp-success-color1)',
  'var(--jp-error-color1)',
  'var(--jp-brand-color3)',
  'var(--jp-accent-color3)',
  'var(--jp-warn-color3)'
];
export const color = (i: number) => COLORS[i % COLORS.length];
const WIDTH = 360;
const HEIGHT = 180;
const PAD = 36;

/** The comparison of several runs in the main area: curves overlaid, final metrics, spec diff. */
export class CompareWidget extends ReactWidget {
  constructor(
    private readonly _api: TltApi,
    readonly paths: string[]
  ) {
    super();
    this.id = `jupyter-tlt:compare:${paths.join('|')}`;
    this.title.label = `Compare ${paths.length} runs`;
    this.title.caption = paths.join('\n');
    this.title.closable = true;
    this.addClass('jp-tlt-compare');
    this.node.dataset.testid = 'jp-tlt-compare-view';
    void this.load();
  }

  async load(): Promise<void> {
    try {
      this._answer = await this._api.compare(this.paths);
      this._error = null;
    } catch (error) {
      this._error = errorMessage(error);
    }
    this.update();
  }

  protected render(): JSX.Element {
    if (this._answer === null) {
      return this._error === null ? (
        <Message kind="loading">Loading the runs…</Message>
      ) : (
        <Message kind="error">Could not compare the runs: {this._error}</Message>
      );
    }
    return <CompareBody answer={this._answer} />;
  }

  private _answer: CompareAnswer | null = null;
  private _error: string | null = null;
}

function CompareBody(props: { answer: CompareAnswer }): JSX.Element {
  const { runs, spec_diff } = props.answer;
  const names = distinguishingNames(runs.map(r => r.path));
  const label = (run: CompareRun) => names.get(run.path) ?? run.path;
  const keys = curveKeys(runs);
  const columns = finalColumns(runs);
  return (
    <div className="jp-tlt-compare-body">
      <ul className="jp-tlt-legend" aria-label="Runs">
        {runs.map((run, i) => (
          <li key={run.path} title={run.path}>
            <span className="jp-tlt-swatch" style={{ background: color(i) }} />
            {label(run)} <span className={`jp-tlt-status jp-tlt-status-${run.status}`}>{run.status}</span>
          </li>
        ))}
      </ul>
      <h3>Curves</h3>
      {keys.length === 0 ? (
        <Message kind="empty">No epoch finished yet in these runs.</Message>
      ) : (
        <div className="jp-tlt-charts">
          {keys.map(key => (
            <Chart key={key} name={key} runs={runs} />
          ))}
        </div>
      )}
      <h3>Final metrics</h3>
      <table className="jp-tlt-table" data-testid="jp-tlt-compare-metrics">
        <thead>
          <tr>
            <th>run</th>
            <th>status</th>
            <th>epochs</th>
            {columns.map(c => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map(run => (
            <tr key={run.path}>
              <th title={run.path}>{label(run)}</th>
              <td>{run.status}</td>
              <td>{run.epochs === null ? run.epoch : `${run.epoch}/${run.epochs}`}</td>
              {columns.map(c => (
                <td key={c}>{c in run.final ? formatNumber(run.final[c]) : '—'}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Spec differences</h3>
      {spec_diff.length === 0 ? (
        <Message kind="empty">The specs are the same.</Message>
      ) : (
        <table className="jp-tlt-table" data-testid="jp-tlt-spec-diff">
          <thead>
            <tr>
              <th>field</th>
              {runs.map(run => (
                <th key={run.path} title={run.path}>
                  {label(run)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {spec_diff.map(row => (
              <tr key={row.field} data-field={row.field}>
                <th className="jp-tlt-field">{row.field}</th>
                {row.values.map((value, i) => (
                  <td key={i}>{value ?? '(default)'}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {runs.length >= PARALLEL_FROM && <Parallel answer={props.answer} />}
    </div>
  );
}

/** One curve of every run over epochs, in SVG. */
export function Chart(props: { name: string; runs: CompareRun[]; xLabel?: string }): JSX.Element {
  const series = props.runs.map(run => points(run, props.name));
  const [x0, x1] = extent(series.flat().map(p => p[0]));
  const [y0, y1] = extent(series.flat().map(p => p[1]));
  const x = (v: number) => PAD + ((v - x0) / (x1 - x0)) * (WIDTH - PAD - 8);
  const y = (v: number) => HEIGHT - PAD / 2 - ((v - y0) / (y1 - y0)) * (HEIGHT - PAD);
  return (
    <figure className="jp-tlt-chart" data-testid="jp-tlt-chart" data-curve={props.name}>
      <figcaption>{props.name}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${props.name} per epoch`}>
        <line className="jp-tlt-axis" x1={PAD} x2={WIDTH - 8} y1={y(y0)} y2={y(y0)} />
        <line className="jp-tlt-axis" x1={PAD} x2={PAD} y1={y(y0)} y2={y(y1)} />
        <text className="jp-tlt-tick" x={PAD - 4} y={y(y1) + 4} textAnchor="end">
          {formatNumber(y1)}
        </text>
        <text className="jp-tlt-tick" x={PAD - 4} y={y(y0)} textAnchor="end">
          {formatNumber(y0)}
        </text>
        <text className="jp-tlt-tick" x={WIDTH - 8} y={HEIGHT - 2} textAnchor="end">
          {props.xLabel ?? 'epoch'} {formatNumber(Math.max(...series.flat().map(p => p[0]), 0))}
        </text>
        {series.map((pts, i) => (
          <g key={i} data-testid="jp-tlt-series">
            <polyline
              fill="none"
              stroke={color(i)}
              strokeWidth={2}
              points={pts.map(([ex, ey]) => `${x(ex)},${y(ey)}`).join(' ')}
            />
            {pts.map(([ex, ey]) => (
              <circle key={ex} cx={x(ex)} cy={y(ey)} r={2.5} fill={color(i)}>
                <title>{`epoch ${ex}: ${formatNumber(ey)}`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** Parallel coordinates: the numeric spec fields that differ, then the headline metric. */
function Parallel(props: { answer: CompareAnswer }): JSX.Element | null {
  const axes = parallelAxes(props.answer);
  if (axes.length < 2) {
    return null;
  }
  const width = Math.max(WIDTH, 140 * axes.length);
  const ax = (i: number) => PAD + (i * (width - 2 * PAD)) / (axes.length - 1);
  const scales = axes.map(axis => extent(axis.values.filter((v): v is number => v !== null)));
  const ay = (i: number, v: number) =>
    HEIGHT - PAD / 2 - ((v - scales[i][0]) / (scales[i][1] - scales[i][0])) * (HEIGHT - PAD);
  return (
    <>
      <h3>Parallel coordinates</h3>
      <svg
        className="jp-tlt-parallel"
        data-testid="jp-tlt-parallel"
        viewBox={`0 0 ${width} ${HEIGHT + 20}`}
        role="img"
        aria-label="Spec fields against the metric"
      >
        {axes.map((axis, i) => (
          <g key={axis.name}>
            <line className="jp-tlt-axis" x1={ax(i)} x2={ax(i)} y1={PAD / 2} y2={HEIGHT - PAD / 2} />
            <text className="jp-tlt-tick" x={ax(i)} y={HEIGHT + 12} textAnchor="middle">
              {axis.name.split('.').pop()}
            </text>
          </g>
        ))}
        {props.answer.runs.map((run, r) => (
          <polyline
            key={run.path}
            fill="none"
            stroke={color(r)}
            strokeWidth={1.5}
            points={axes
              .map((axis, i) => (axis.values[r] === null ? null : `${ax(i)},${ay(i, axis.values[r]!)}`))
              .filter(Boolean)
              .join(' ')}
          >
            <title>{run.path}</title>
          </polyline>
        ))}
      </svg>
    </>
  );
}
