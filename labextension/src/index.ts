// Wires the plugin: the TLT sidebar in the left area. The logic lives in the other modules.

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IFrame, MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { restApi } from './api';
import { CompareWidget } from './compareView';
import { GalleryWidget } from './galleryView';
import { pullCellSource } from './format';
import { SidebarModel } from './model';
import { insertCodeCellBelow } from './notebook';
import { UnquotableValue } from './quote';
import { TltSidebar } from './sidebar';
import { CLIENT_VERSION } from './version';
import { FILE_TYPES, ViewerFactory } from './viewers';

/** Opens an inference run's gallery: `app.commands.execute('jupyter-tlt:open-gallery', { path })`. */
const GALLERY_COMMAND = 'jupyter-tlt:open-gallery';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tlt:plugin',
  description: 'The TLT sidebar: registry models, experiment artifacts, history and comparisons.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    restorer: ILayoutRestorer | null
  ) => {
    const api = restApi(app.serviceManager.serverSettings);
    const model = new SidebarModel(api, CLIENT_VERSION);
    // an inference run's images as a gallery in the main area; one tab per run, reused
    app.commands.addCommand(GALLERY_COMMAND, {
      label: args => `Open the gallery of ${args.path ?? 'an inference run'}`,
      caption: 'The annotated images of a tlt infer run, with their detections',
      execute: args => {
        const path = String(args.path ?? '');
        const open = [...app.shell.widgets('main')].find(w => w instanceof GalleryWidget && w.path === path);
        if (open) {
          app.shell.activateById(open.id);
          void (open as GalleryWidget).model.reload();
          return;
        }
        const widget = new GalleryWidget(api, path);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
      }
    });
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
      open: path => void app.commands.execute('docmanager:open', { path }),
      compare: paths => {
        // the main area, not the narrow sidebar; the same selection reuses its open tab
        const id = `jupyter-tlt:compare:${paths.join('|')}`;
        const open = [...app.shell.widgets('main')].find(widget => widget.id === id);
        if (open) {
          app.shell.activateById(id);
          void (open as CompareWidget).load();
          return;
        }
        app.shell.add(new CompareWidget(api, paths), 'main');
      },
      gallery: path => void app.commands.execute(GALLERY_COMMAND, { path }),
      notify: (kind, message) => void Notification.emit(message, kind, { autoClose: 8000 }),
      tensorboard: path => {
        const id = Notification.emit(`Starting TensorBoard for ${path}…`, 'in-progress', { autoClose: false });
        api.tensorboard(path).then(
          ({ url }) => {
            Notification.dismiss(id);
            const frame = new IFrame({ sandbox: ['allow-scripts', 'allow-same-origin', 'allow-popups'] });
            frame.url = url;
            const widget = new MainAreaWidget({ content: frame });
            widget.id = `jupyter-tlt:tensorboard:${path}`;
            widget.title.label = `TensorBoard: ${path.split('/').pop()}`;
            widget.title.caption = path;
            widget.title.closable = true;
            app.shell.add(widget, 'main');
          },
          error => {
            Notification.dismiss(id);
            Notification.error(`TensorBoard for ${path}: ${error instanceof Error ? error.message : error}`, {
              autoClose: 8000
            });
          }
        );
      }
    });
    // a notification when a run this lab saw running ends
    model.ended.connect((_, runs) => {
      for (const run of runs) {
        const kind = run.status === 'finished' ? 'success' : run.status === 'failed' ? 'error' : 'warning';
        Notification.emit(`Training ${run.path} ${run.status}.`, kind, { autoClose: run.status === 'finished' ? 8000 : false });
      }
    });
    app.shell.add(sidebar, 'left', { rank: 600 });

    // viewers for metrics.json, status.jsonl, models, prune reports and event files, also from the file browser
    for (const fileType of FILE_TYPES) {
      app.docRegistry.addFileType(fileType);
    }
    const toApiPath = (path: string) => {
      const root = model.experiments.value?.root ?? '';
      return root && path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
    };
    for (const [modelName, format] of [['text', 'text'], ['base64', 'base64']] as const) {
      const names = FILE_TYPES.filter(t => t.fileFormat === format).map(t => t.name!);
      app.docRegistry.addWidgetFactory(
        new ViewerFactory(
          { name: `TLT viewer (${format})`, label: 'TLT viewer', fileTypes: names, defaultFor: names, readOnly: true, modelName },
          api,
          toApiPath
        )
      );
    }
    restorer?.add(sidebar, sidebar.id);
  }
};

export default plugin;
