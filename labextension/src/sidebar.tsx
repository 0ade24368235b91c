import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import type { Message as LuminoMessage } from '@lumino/messaging';
import * as React from 'react';

import { Message } from './components';
import { ExperimentsActions, ExperimentsView } from './experimentsView';
import { tltIcon } from './icon';
import type { Handshake, SidebarModel } from './model';
import { RegistryActions, RegistryView } from './registryView';

/** What the sidebar does outside itself (in the notebook, the file browser). */
export interface SidebarHost {
  insertPullCell(name: string, version: string): void;
  open(path: string): void;
  compare(paths: string[]): void;
  notify(kind: 'success' | 'error' | 'info', message: string): void;
  tensorboard(path: string): void;
  gallery(path: string): void;
}

/** The "TLT" left sidebar: the handshake banner, then the registry and the experiments. */
export class TltSidebar extends ReactWidget {
  constructor(
    private readonly _model: SidebarModel,
    host: SidebarHost
  ) {
    super();
    this.id = 'jupyter-tlt:sidebar';
    this.title.icon = tltIcon;
    this.title.caption = 'TLT';
    this.addClass('jp-tlt-sidebar');
    this.node.dataset.testid = 'jp-tlt-sidebar';
    // Stable objects, so that memoized rows are not re-rendered for new callbacks.
    this._registryActions = {
      insertPullCell: host.insertPullCell,
      pull: (name, version) => void _model.pull(name, version),
      refresh: () => void _model.refreshRegistry()
    };
    this._experimentsActions = {
      toggle: path => _model.toggle(path),
      showMore: () => _model.showMore(),
      open: host.open,
      refresh: () => void _model.refreshExperiments().catch(() => undefined),
      select: (path, selected) => _model.select(path, selected),
      compare: host.compare,
      tensorboard: host.tensorboard,
      gallery: host.gallery,
      toggleSearch: path => _model.toggleSearch(path),
      stop: path =>
        void _model.stop(path).then(
          () => host.notify('info', `Stopping ${path} after its next checkpoint; train it again to resume.`),
          error => host.notify('error', `Could not stop ${path}: ${error instanceof Error ? error.message : error}`)
        )
    };
  }

  dispose(): void {
    this._model.dispose();
    super.dispose();
  }

  protected render(): JSX.Element {
    const model = this._model;
    return (
      <UseSignal signal={model.changed}>
        {() => (
          <div className="jp-tlt-content">
            <h2 className="jp-tlt-title">
              <tltIcon.react tag="span" />
              TLT
            </h2>
            {model.handshake.kind === 'ok' ? (
              <>
                <RegistryView
                  registry={model.registry}
                  pulls={model.pulls}
                  actions={this._registryActions}
                />
                <ExperimentsView
                  experiments={model.experiments}
                  pages={model.pages}
                  expanded={model.expanded}
                  details={model.details}
                  lineages={model.lineages}
                  selected={model.selected}
                  stopping={model.stopping}
                  expandedSearches={model.expandedSearches}
                  actions={this._experimentsActions}
                />
              </>
            ) : (
              <HandshakeBanner handshake={model.handshake} retry={() => void model.connect()} />
            )}
          </div>
        )}
      </UseSignal>
    );
  }

  // The model polls only while the sidebar is on screen.
  protected onAfterAttach(msg: LuminoMessage): void {
    super.onAfterAttach(msg);
    this._model.visible = this.isVisible;
  }

  protected onBeforeDetach(msg: LuminoMessage): void {
    this._model.visible = false;
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: LuminoMessage): void {
    super.onAfterShow(msg);
    this._model.visible = true;
  }

  protected onAfterHide(msg: LuminoMessage): void {
    super.onAfterHide(msg);
    this._model.visible = false;
  }

  private readonly _registryActions: RegistryActions;
  private readonly _experimentsActions: ExperimentsActions;
}

function HandshakeBanner(props: { handshake: Handshake; retry: () => void }): JSX.Element {
  const { handshake } = props;
  if (handshake.kind === 'checking') {
    return <Message kind="loading">Connecting to the jupyter-tlt server extension…</Message>;
  }
  return (
    <div className="jp-tlt-handshake" data-testid="jp-tlt-handshake" data-kind={handshake.kind}>
      <Message kind="error">
        {handshake.kind === 'disabled' && (
          <>
            The jupyter-tlt server extension is not enabled: run{' '}
            <code>jupyter server extension enable jupyter_tlt</code> and restart JupyterLab.
          </>
        )}
        {handshake.kind === 'mismatch' && (
          <>
            Version mismatch: the jupyter-tlt server extension is {handshake.server} but this
            lab extension is {handshake.client}. Install one jupyter-tlt version (
            <code>pip install -U jupyter-tlt</code>), then restart JupyterLab and reload this page.
          </>
        )}
        {handshake.kind === 'error' && (
          <>The jupyter-tlt server extension answered with an error: {handshake.message}</>
        )}
      </Message>
      <button
        className="jp-tlt-button jp-tlt-retry"
        data-testid="jp-tlt-retry"
        onClick={props.retry}
      >
        Retry
      </button>
    </div>
  );
}
