import { curveKeys, extent, finalColumns, parallelAxes, points } from '../compare';
import { compareQuery } from '../api';
import type { CompareRun } from '../types';

function run(path: string, history: Record<string, unknown>[], final: Record<string, number> = {}): CompareRun {
  return {
    path, name: path, task: 'detection', arch: 'resnet18', status: 'finished', epoch: history.length,
    epochs: history.length, metric: 'mAP' in final ? { name: 'mAP', value: final.mAP } : null, history, final
  };
}

describe('comparison data', () => {
  const a = run('runs/a', [{ epoch: 1, loss: 0.9, lr: 1e-3, time: 5 }, { epoch: 2, loss: 0.5, lr: 1e-4, val_mAP: 0.3 }], { mAP: 0.3 });
  const b = run('runs/b', [{ epoch: 1, loss: 0.8, cov_loss: 0.1, lr: 1e-3, val_mAP: 'nan' }], { mAP: 0.2, AP_car: 0.4 });

  it('overlays losses first, then the learning rate, then validation metrics; never epoch or time', () => {
    expect(curveKeys([a, b])).toEqual(['loss', 'cov_loss', 'lr', 'val_mAP']);
  });

  it("takes a run's points of a curve, skipping epochs without a finite value", () => {
    expect(points(a, 'val_mAP')).toEqual([[2, 0.3]]);
    expect(points(b, 'val_mAP')).toEqual([]);
    expect(points(a, 'loss')).toEqual([[1, 0.9], [2, 0.5]]);
  });

  it('widens an empty or flat extent so that scales never divide by zero', () => {
    expect(extent([])).toEqual([0, 1]);
    expect(extent([2, 2])).toEqual([1, 3]);
    expect(extent([0, 0])).toEqual([-0.5, 0.5]);
    expect(extent([3, 1, 2])).toEqual([1, 3]);
  });

  it('lists every final figure once', () => {
    expect(finalColumns([a, b])).toEqual(['AP_car', 'mAP']);
  });

  it('makes parallel axes of the numeric spec fields that differ, then the metric', () => {
    const axes = parallelAxes({
      runs: [a, b],
      spec_diff: [
        { field: 'training_config.batch_size_per_gpu', values: ['4', '8'] },
        { field: 'model_config.arch', values: ['resnet', 'vgg'] },
        { field: 'training_config.num_epochs', values: [null, '2'] }
      ]
    });
    expect(axes).toEqual([
      { name: 'training_config.batch_size_per_gpu', values: [4, 8] },
      { name: 'training_config.num_epochs', values: [null, 2] },
      { name: 'mAP', values: [0.3, 0.2] }
    ]);
  });

  it('encodes each compared path in the query', () => {
    expect(compareQuery(['runs/a b', 'x&y'])).toBe('path=runs%2Fa%20b&path=x%26y');
  });
});
