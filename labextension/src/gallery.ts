// An inference run's gallery: pages of thumbnails and one image shown large, moved through with the
// keyboard. No DOM here: galleryView.tsx renders it and calls its methods.

import { ISignal, Signal } from '@lumino/signaling';

import type { TltApi } from './api';
import { errorMessage } from './model';
import type { Detection, GalleryImage, GalleryPage } from './types';

/** Thumbnails per page: the server's default, a few screens of a 1440-pixel-wide grid. */
export const GALLERY_PAGE_SIZE = 60;

/** What a key does in the gallery (arrows move through the images, Escape closes the large one). */
export function keyAction(key: string): 'next' | 'previous' | 'close' | 'first' | 'last' | null {
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return 'next';
    case 'ArrowLeft':
    case 'ArrowUp':
      return 'previous';
    case 'Escape':
      return 'close';
    case 'Home':
      return 'first';
    case 'End':
      return 'last';
    default:
      return null;
  }
}

/** The page that holds image `index` (0-based), and the number of pages of `total` images. */
export function pageOf(index: number, size = GALLERY_PAGE_SIZE): number {
  return Math.floor(Math.max(0, index) / size);
}

export function pageCount(total: number, size = GALLERY_PAGE_SIZE): number {
  return Math.max(1, Math.ceil(total / size));
}

/** A detection as a table row: class, confidence in percent, box rounded to pixels. */
export function detectionCells(detection: Detection): [string, string, string] {
  const { confidence, box } = detection;
  return [
    detection.class,
    confidence === null ? '—' : `${(100 * confidence).toFixed(1)}%`,
    box.map(v => Math.round(v)).join(', ')
  ];
}

/** The pages of an inference run's images, and which one is shown large. */
export class GalleryModel {
  constructor(
    private readonly _api: TltApi,
    readonly path: string,
    readonly pageSize = GALLERY_PAGE_SIZE
  ) {}

  /** Emitted after any change of the state below. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Images in the run (null until the first page answered). */
  total: number | null = null;
  /** The page of thumbnails shown (0-based). */
  page = 0;
  /** The image shown large (0-based over the whole run), or null for the grid. */
  selected: number | null = null;
  /** The image whose thumbnail takes the focus back when the large view closes. */
  returnFocus: number | null = null;
  error: string | null = null;
  loading = false;

  /** The images of the page shown, if it has been loaded. */
  get images(): GalleryImage[] | null {
    return this._pages.get(this.page) ?? null;
  }

  /** The image shown large, if its page has been loaded. */
  get current(): GalleryImage | null {
    if (this.selected === null) {
      return null;
    }
    const page = this._pages.get(pageOf(this.selected, this.pageSize));
    return page?.[this.selected % this.pageSize] ?? null;
  }

  /** Show page `page` of thumbnails (clamped to the run's pages), loading it when needed. */
  async showPage(page: number): Promise<void> {
    const last = this.total === null ? page : pageCount(this.total, this.pageSize) - 1;
    this._set(() => (this.page = Math.max(0, Math.min(page, last))));
    await this._load(this.page);
  }

  /** Reload every page from the server (the run may have grown). */
  async reload(): Promise<void> {
    this._pages.clear();
    await this._load(this.page);
  }

  /** Show image `index` large (its page of thumbnails follows). */
  async open(index: number): Promise<void> {
    if (this.total !== null && (index < 0 || index >= this.total)) {
      return;
    }
    const page = pageOf(index, this.pageSize);
    this._set(() => {
      this.selected = index;
      this.page = page;
    });
    await this._load(page);
  }

  close(): void {
    this._set(() => {
      this.returnFocus = this.selected;
      this.selected = null;
    });
  }

  /** Act on a key; true when the gallery used it. */
  handleKey(key: string): boolean {
    const action = keyAction(key);
    if (action === null || this.total === null || this.total === 0) {
      return false;
    }
    if (action === 'close') {
      if (this.selected === null) {
        return false;
      }
      this.close();
      return true;
    }
    if (this.selected === null) {
      return false; // in the grid, arrows and Tab move the focus between thumbnails
    }
    const last = this.total - 1;
    const target =
      action === 'next' ? Math.min(last, this.selected + 1)
      : action === 'previous' ? Math.max(0, this.selected - 1)
      : action === 'first' ? 0
      : last;
    void this.open(target);
    return true;
  }

  private async _load(page: number): Promise<void> {
    if (this._pages.has(page)) {
      return;
    }
    this._set(() => (this.loading = true));
    let answer: GalleryPage;
    try {
      answer = await this._api.gallery(this.path, page * this.pageSize, this.pageSize);
    } catch (error) {
      this._set(() => {
        this.error = errorMessage(error);
        this.loading = false;
      });
      return;
    }
    this._set(() => {
      this._pages.set(page, answer.images);
      this.total = answer.total;
      this.error = null;
      this.loading = false;
    });
  }

  private _set(change: () => unknown): void {
    change();
    this._changed.emit();
  }

  private readonly _pages = new Map<number, GalleryImage[]>();
  private readonly _changed = new Signal<this, void>(this);
}

/**
 * The inference runs among an experiment's files: the folders whose images `tlt infer` wrote
 * (`<run>/images/*.jpg`, or images directly in the run's folder), with how many images each holds.
 */
export function galleryFolders(artifacts: readonly { path: string; kind: string }[]): { path: string; images: number }[] {
  const counts = new Map<string, number>();
  for (const artifact of artifacts) {
    if (artifact.kind !== 'image') {
      continue;
    }
    const parts = artifact.path.split('/');
    parts.pop();
    if (parts[parts.length - 1] === 'images') {
      parts.pop();
    }
    const folder = parts.join('/');
    counts.set(folder, (counts.get(folder) ?? 0) + 1);
  }
  return [...counts].map(([path, images]) => ({ path, images }));
}
