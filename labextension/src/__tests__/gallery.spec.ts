import type { TltApi } from '../api';
import { ApiError } from '../api';
import { detectionCells, galleryFolders, GalleryModel, keyAction, pageCount, pageOf } from '../gallery';
import type { GalleryPage } from '../types';

/** GET gallery over `total` images named 000000.jpg..., as the server pages them. */
function galleryApi(total: number, calls: string[]): Pick<TltApi, 'gallery' | 'imageUrl'> {
  return {
    async gallery(path: string, offset: number, limit: number): Promise<GalleryPage> {
      calls.push(`${offset}+${limit}`);
      const names = Array.from({ length: total }, (_, i) => `${String(i).padStart(6, '0')}.jpg`);
      return {
        path, total, offset, limit,
        images: names.slice(offset, offset + limit).map(name => ({
          name, path: `${path}/images/${name}`, labels: `${path}/labels/${name.replace('.jpg', '.txt')}`,
          detections: [{ class: 'car', confidence: 0.9, box: [1, 2, 3, 4] }], more: 0
        }))
      };
    },
    imageUrl: (path, thumbnail) => `/image/${path}${thumbnail ? '?thumbnail=1' : ''}`
  };
}

function model(total: number, calls: string[] = [], size = 10): GalleryModel {
  return new GalleryModel(galleryApi(total, calls) as TltApi, 'runs/detect/infer', size);
}

describe('gallery paging', () => {
  it('finds the page of an image and the number of pages', () => {
    expect([pageOf(0, 10), pageOf(9, 10), pageOf(10, 10)]).toEqual([0, 0, 1]);
    expect([pageCount(0, 10), pageCount(10, 10), pageCount(11, 10)]).toEqual([1, 1, 2]);
  });

  it('loads a page once, and clamps the page to the run', async () => {
    const calls: string[] = [];
    const gallery = model(25, calls);
    await gallery.showPage(0);
    expect(gallery.total).toBe(25);
    expect(gallery.images!.map(i => i.name)[0]).toBe('000000.jpg');
    await gallery.showPage(7);
    expect(gallery.page).toBe(2);
    expect(gallery.images).toHaveLength(5);
    await gallery.showPage(0);
    expect(calls).toEqual(['0+10', '20+10']);
  });

  it('reports a failed listing', async () => {
    const gallery = new GalleryModel(
      { gallery: () => Promise.reject(new ApiError('no such folder', 404)) } as unknown as TltApi, 'x'
    );
    await gallery.showPage(0);
    expect(gallery.total).toBeNull();
    expect(gallery.error).toBe('no such folder');
  });
});

describe('gallery keyboard', () => {
  it('maps arrows, Home, End and Escape', () => {
    expect(['ArrowRight', 'ArrowLeft', 'Escape', 'Home', 'End', 'a'].map(keyAction)).toEqual([
      'next', 'previous', 'close', 'first', 'last', null
    ]);
  });

  it('moves through the images across pages and stops at both ends', async () => {
    const calls: string[] = [];
    const gallery = model(25, calls);
    await gallery.showPage(0);
    expect(gallery.handleKey('ArrowRight')).toBe(false); // the grid: the focus moves, not the model
    await gallery.open(9);
    expect(gallery.current!.name).toBe('000009.jpg');
    gallery.handleKey('ArrowRight');
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(gallery.selected).toBe(10);
    expect(gallery.page).toBe(1);
    expect(gallery.current!.name).toBe('000010.jpg');
    gallery.handleKey('End');
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(gallery.selected).toBe(24);
    gallery.handleKey('ArrowRight');
    expect(gallery.selected).toBe(24);
    gallery.handleKey('Home');
    gallery.handleKey('ArrowLeft');
    expect(gallery.selected).toBe(0);
    expect(calls).toEqual(['0+10', '10+10', '20+10']);
  });

  it('closes the large image with Escape and gives the focus back to its thumbnail', async () => {
    const gallery = model(5);
    await gallery.open(3);
    expect(gallery.handleKey('Escape')).toBe(true);
    expect(gallery.selected).toBeNull();
    expect(gallery.returnFocus).toBe(3);
    expect(gallery.handleKey('Escape')).toBe(false); // the grid leaves Escape to JupyterLab
  });

  it('ignores an image outside the run', async () => {
    const gallery = model(5);
    await gallery.showPage(0);
    await gallery.open(5);
    expect(gallery.selected).toBeNull();
  });
});

describe('gallery pieces', () => {
  it('shows a detection as class, confidence in percent and a box in pixels', () => {
    expect(detectionCells({ class: 'car', confidence: 0.9134, box: [12.4, 40.5, 96, 88.2] })).toEqual([
      'car', '91.3%', '12, 41, 96, 88'
    ]);
    expect(detectionCells({ class: 'sign', confidence: null, box: [0, 0, 1, 1] })[1]).toBe('—');
  });

  it('finds the inference runs among the artifacts, with their image counts', () => {
    const artifacts = [
      { path: 'runs/d/infer/images/1.jpg', kind: 'image' },
      { path: 'runs/d/infer/images/2.jpg', kind: 'image' },
      { path: 'runs/d/infer/labels/1.txt', kind: 'labels' },
      { path: 'runs/d/infer/night/3.png', kind: 'image' },
      { path: 'runs/d/weights/model.keras', kind: 'model' }
    ];
    expect(galleryFolders(artifacts)).toEqual([
      { path: 'runs/d/infer', images: 2 },
      { path: 'runs/d/infer/night', images: 1 }
    ]);
  });
});
