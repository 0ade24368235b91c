// Small presentational pieces shared by the sidebar's sections.

import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

/** A titled section of the sidebar with a refresh button. */
export function Section(props: {
  title: string;
  testid: string;
  onRefresh: () => void;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section className={`jp-tlt-section ${props.testid}`} data-testid={props.testid}>
      <header className="jp-tlt-section-header">
        <h3>{props.title}</h3>
        <button
          className="jp-tlt-icon-button jp-tlt-refresh"
          data-testid="jp-tlt-refresh"
          title={`Refresh ${props.title.toLowerCase()}`}
          onClick={props.onRefresh}
        >
          <refreshIcon.react tag="span" />
        </button>
      </header>
      {props.children}
    </section>
  );
}

/** A loading, empty or error state, one per kind of message (CSS class and test id alike). */
export function Message(props: {
  kind: 'loading' | 'empty' | 'error' | 'warning';
  children: React.ReactNode;
}): JSX.Element {
  const name = `jp-tlt-${props.kind}`;
  return (
    <div className={`jp-tlt-message ${name}`} data-testid={name}>
      {props.children}
    </div>
  );
}
