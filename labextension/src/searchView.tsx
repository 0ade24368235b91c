import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { compareTargets, searchFacts } from './searches';
import type { Search } from './types';

/** A search (`tlt tune`, `tlt compress`) as one collapsible node, its trials under it, and "compare". */
export const SearchRow = React.memo(function SearchRow(props: {
  search: Search;
  expanded: boolean;
  actions: { toggleSearch(path: string): void; compare(paths: string[]): void };
  children: React.ReactNode;
}): JSX.Element {
  const { search, expanded, actions } = props;
  const Caret = expanded ? caretDownIcon : caretRightIcon;
  const targets = compareTargets(search);
  const listId = `jp-tlt-search-trials-${search.path.replace(/[^\w-]/g, '_')}`;
  return (
    <li
      className="jp-tlt-item jp-tlt-search"
      data-testid="jp-tlt-search"
      data-path={search.path}
      data-kind={search.kind}
      data-state={search.state}
    >
      <div className="jp-tlt-row">
        <button
          className="jp-tlt-experiment-toggle"
          data-testid="jp-tlt-search-toggle"
          aria-expanded={expanded}
          aria-controls={expanded ? listId : undefined}
          title={`${search.path || 'the root folder'}: ${search.kind === 'tune' ? 'hyper-parameter' : 'compression'} search`}
          onClick={() => actions.toggleSearch(search.path)}
        >
          <Caret.react tag="span" className="jp-tlt-caret" />
          <span className="jp-tlt-name jp-tlt-path">{search.name}</span>
          <span className={`jp-tlt-status jp-tlt-status-${search.state}`} data-testid="jp-tlt-status">
            {search.state}
          </span>
        </button>
        <button
          className="jp-tlt-button jp-tlt-search-compare"
          data-testid="jp-tlt-search-compare"
          disabled={targets.length < 2}
          title={targets.length < 2 ? 'A comparison needs two or more trials' : `Compare the ${targets.length} trials`}
          onClick={() => actions.compare(targets)}
        >
          Compare
        </button>
      </div>
      <div className="jp-tlt-meta" data-testid="jp-tlt-search-facts">
        {searchFacts(search)}
      </div>
      {expanded && (
        <ul className="jp-tlt-list jp-tlt-trials" id={listId} data-testid="jp-tlt-search-trials">
          {props.children}
        </ul>
      )}
    </li>
  );
});
