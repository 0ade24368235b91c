import { distinguishingNames, historyRows, stepLabel, wrapPieces } from '../names';

describe('distinguishingNames', () => {
  it('keeps the shortest tail that tells paths apart', () => {
    const names = distinguishingNames([
      'notebooks/tutorial_a/runs',
      'notebooks/tutorial_b/runs',
      'runs/detect'
    ]);
    expect(names.get('notebooks/tutorial_a/runs')).toBe('…/tutorial_a/runs');
    expect(names.get('notebooks/tutorial_b/runs')).toBe('…/tutorial_b/runs');
    expect(names.get('runs/detect')).toBe('…/detect');
  });

  it('shows a whole path when no tail is unique, and a single part as it is', () => {
    const names = distinguishingNames(['a/x', 'x', 'b']);
    expect(names.get('a/x')).toBe('a/x');
    expect(names.get('x')).toBe('x');
    expect(names.get('b')).toBe('b');
  });

  it('handles no paths', () => {
    expect(distinguishingNames([]).size).toBe(0);
  });
});

describe('wrapPieces', () => {
  it('cuts after separators only, never inside a word', () => {
    expect(wrapPieces('weights/model_epoch_007.keras')).toEqual(['weights/', 'model_', 'epoch_', '007.', 'keras']);
    expect(wrapPieces('export/nvinfer-config.txt')).toEqual(['export/', 'nvinfer-', 'config.', 'txt']);
    expect(wrapPieces('plain')).toEqual(['plain']);
    expect(wrapPieces('')).toEqual(['']);
    expect(wrapPieces('trailing_').join('')).toBe('trailing_');
  });
});

describe('historyRows', () => {
  it('lists newest first and calls a training after pruning a retraining', () => {
    const rows = historyRows([{ step: 'registry' }, { step: 'train' }, { step: 'prune' }, { step: 'train' }, { step: 'export' }]);
    expect(rows.map(r => r.label)).toEqual(['exported', 'retrained', 'pruned', 'trained', 'pretrained (registry)']);
  });

  it('names unknown steps by themselves', () => {
    expect(stepLabel('quantize')).toBe('quantize');
  });
});
