// Wires the plugin: the TLT sidebar in the left area. The logic lives in the other modules.

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { restApi } from './api';
import { pullCellSource } from './format';
import { SidebarModel } from './model';
import { insertCodeCellBelow } from './notebook';
import { UnquotableValue } from './quote';
import { TltSidebar } from './sidebar';
import { CLIENT_VERSION } from './version';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tlt:plugin',
  description: 'The TLT sidebar: registry models and experiment artifacts.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    restorer: ILayoutRestorer | null
  ) => {
    const model = new SidebarModel(restApi(app.serviceManager.serverSettings), CLIENT_VERSION);
    const sidebar = new TltSidebar(model, {
      insertPullCell: (name, version) => {
        let source: string;
        try {
          source = pullCellSource(name, version);
        } catch (error) {
          if (!(error instanceof UnquotableValue)) {
            throw error;
          }
          Notification.error(`No pull cell inserted: ${error.message}.`, {
            autoClose: 8000
          });
          return;
        }
        if (!insertCodeCellBelow(notebooks, source)) {
          Notification.warning('Open a notebook first: the pull cell goes below its active cell.', {
            autoClose: 5000
          });
        }
      },
      open: path => void app.commands.execute('docmanager:open', { path })
    });
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, sidebar.id);
  }
};

export default plugin;
