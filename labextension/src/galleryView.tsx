import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import type { Message as LuminoMessage } from '@lumino/messaging';
import * as React from 'react';

import type { TltApi } from './api';
import { Message } from './components';
import { detectionCells, GalleryModel, pageCount } from './gallery';
import type { GalleryImage } from './types';

/** An inference run's annotated images in the main area: a grid of thumbnails, one image large. */
export class GalleryWidget extends ReactWidget {
  constructor(
    private readonly _api: TltApi,
    readonly path: string
  ) {
    super();
    this.model = new GalleryModel(_api, path);
    this.id = `jupyter-tlt:gallery:${path}`;
    this.title.label = `Gallery: ${path.split('/').slice(-2).join('/')}`;
    this.title.caption = path;
    this.title.closable = true;
    this.addClass('jp-tlt-gallery');
    this.node.dataset.testid = 'jp-tlt-gallery';
    this.node.tabIndex = -1;
    this.node.addEventListener('keydown', event => {
      if (this.model.handleKey(event.key)) {
        event.preventDefault();
        event.stopPropagation();
      }
    });
    void this.model.showPage(0);
  }

  readonly model: GalleryModel;

  protected onActivateRequest(msg: LuminoMessage): void {
    super.onActivateRequest(msg);
    if (!this.node.contains(document.activeElement)) {
      this.node.focus();
    }
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <GalleryBody model={this.model} imageUrl={this._api.imageUrl} />}
      </UseSignal>
    );
  }
}

function GalleryBody(props: { model: GalleryModel; imageUrl: (path: string, thumbnail: boolean) => string }): JSX.Element {
  const { model, imageUrl } = props;
  if (model.total === null) {
    return model.error === null ? (
      <Message kind="loading">Loading the images of {model.path}…</Message>
    ) : (
      <Message kind="error">Could not list the images of {model.path}: {model.error}</Message>
    );
  }
  if (model.total === 0) {
    return <Message kind="empty">No images in {model.path}: run <code>tlt infer</code> into it first.</Message>;
  }
  return (
    <div className="jp-tlt-gallery-body">
      {model.error !== null && <Message kind="warning">{model.error}</Message>}
      {model.selected === null ? (
        <Grid model={model} imageUrl={imageUrl} />
      ) : (
        <Large model={model} imageUrl={imageUrl} />
      )}
    </div>
  );
}

function Pager(props: { model: GalleryModel }): JSX.Element {
  const { model } = props;
  const pages = pageCount(model.total ?? 0, model.pageSize);
  const first = model.page * model.pageSize + 1;
  const last = Math.min(model.total ?? 0, first + model.pageSize - 1);
  return (
    <nav className="jp-tlt-gallery-pager" aria-label="Pages of images">
      <button
        className="jp-tlt-button"
        data-testid="jp-tlt-gallery-previous-page"
        disabled={model.page === 0}
        onClick={() => void model.showPage(model.page - 1)}
      >
        Previous page
      </button>
      <span data-testid="jp-tlt-gallery-range">
        images {first}–{last} of {model.total} · page {model.page + 1} of {pages}
      </span>
      <button
        className="jp-tlt-button"
        data-testid="jp-tlt-gallery-next-page"
        disabled={model.page >= pages - 1}
        onClick={() => void model.showPage(model.page + 1)}
      >
        Next page
      </button>
    </nav>
  );
}

function Grid(props: { model: GalleryModel; imageUrl: (path: string, thumbnail: boolean) => string }): JSX.Element {
  const { model, imageUrl } = props;
  const images = model.images;
  const focusRef = React.useRef<HTMLButtonElement>(null);
  const returnTo = model.returnFocus;
  React.useEffect(() => {
    focusRef.current?.focus(); // back on the thumbnail that was opened, after Escape
  }, [returnTo]);
  return (
    <>
      <header className="jp-tlt-gallery-header">
        <h2 className="jp-tlt-gallery-title" title={model.path}>{model.path}</h2>
        <Pager model={model} />
      </header>
      {images === null ? (
        <Message kind="loading">Loading page {model.page + 1}…</Message>
      ) : (
        <ul className="jp-tlt-gallery-grid" aria-label={`Images of ${model.path}`}>
          {images.map((image, i) => {
            const index = model.page * model.pageSize + i;
            return (
              <li key={image.path}>
                <button
                  className="jp-tlt-thumb"
                  data-testid="jp-tlt-gallery-thumb"
                  data-path={image.path}
                  ref={index === returnTo ? focusRef : undefined}
                  title={`${image.name}: ${countLabel(image)} — open large`}
                  onClick={() => void model.open(index)}
                >
                  <img src={imageUrl(image.path, true)} alt={image.name} loading="lazy" decoding="async" />
                  <span className="jp-tlt-thumb-caption">
                    <span className="jp-tlt-thumb-name">{image.name}</span>
                    <span className="jp-tlt-tag">{image.detections.length + image.more}</span>
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}

function Large(props: { model: GalleryModel; imageUrl: (path: string, thumbnail: boolean) => string }): JSX.Element {
  const { model, imageUrl } = props;
  const image = model.current;
  const index = model.selected ?? 0;
  const closeRef = React.useRef<HTMLButtonElement>(null);
  React.useEffect(() => closeRef.current?.focus(), []);
  return (
    <section className="jp-tlt-gallery-large" data-testid="jp-tlt-gallery-large" aria-label="Image shown large">
      <header className="jp-tlt-gallery-header">
        <button
          ref={closeRef}
          className="jp-tlt-button"
          data-testid="jp-tlt-gallery-close"
          title="Back to the thumbnails (Escape)"
          onClick={() => model.close()}
        >
          Back to the grid
        </button>
        <button
          className="jp-tlt-button"
          data-testid="jp-tlt-gallery-previous"
          title="Previous image (←)"
          disabled={index === 0}
          onClick={() => model.handleKey('ArrowLeft')}
        >
          ← Previous
        </button>
        <span data-testid="jp-tlt-gallery-position">
          {index + 1} of {model.total}
        </span>
        <button
          className="jp-tlt-button"
          data-testid="jp-tlt-gallery-next"
          title="Next image (→)"
          disabled={index >= (model.total ?? 1) - 1}
          onClick={() => model.handleKey('ArrowRight')}
        >
          Next →
        </button>
        <h2 className="jp-tlt-gallery-title">{image?.name ?? '…'}</h2>
      </header>
      {image === null ? (
        <Message kind="loading">Loading…</Message>
      ) : (
        <div className="jp-tlt-gallery-detail">
          <img className="jp-tlt-gallery-image" src={imageUrl(image.path, false)} alt={image.name} />
          <Detections image={image} />
        </div>
      )}
    </section>
  );
}

function Detections(props: { image: GalleryImage }): JSX.Element {
  const { image } = props;
  if (image.labels === null) {
    return <Message kind="empty">No label file for {image.name}.</Message>;
  }
  if (image.detections.length === 0) {
    return <Message kind="empty">No detections in {image.labels.split('/').pop()}.</Message>;
  }
  return (
    <table className="jp-tlt-table jp-tlt-detections" data-testid="jp-tlt-gallery-detections">
      <caption>
        {countLabel(image)} ({image.labels.split('/').pop()})
      </caption>
      <thead>
        <tr>
          <th scope="col">class</th>
          <th scope="col">confidence</th>
          <th scope="col">box (x1, y1, x2, y2)</th>
        </tr>
      </thead>
      <tbody>
        {image.detections.map((detection, i) => (
          <tr key={i}>
            {detectionCells(detection).map((cell, j) => (
              <td key={j}>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function countLabel(image: GalleryImage): string {
  const n = image.detections.length + image.more;
  return image.more > 0
    ? `${n} detections, the ${image.detections.length} most confident listed`
    : `${n} detection${n === 1 ? '' : 's'}`;
}
