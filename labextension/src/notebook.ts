import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

/**
 * Insert a code cell holding `source` below the active cell of the current
 * notebook, and make it the active cell. False when no notebook is open.
 */
export function insertCodeCellBelow(tracker: INotebookTracker, source: string): boolean {
  const notebook = tracker.currentWidget?.content;
  if (!notebook?.model) {
    return false;
  }
  NotebookActions.insertBelow(notebook);
  if (notebook.activeCell?.model.type !== 'code') {
    NotebookActions.changeCellType(notebook, 'code');
  }
  notebook.activeCell?.model.sharedModel.setSource(source);
  return true;
}
