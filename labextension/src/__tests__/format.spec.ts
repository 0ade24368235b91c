import {
  formatBestMetric,
  formatBytes,
  formatEpochs,
  formatMetrics,
  formatNumber,
  pullCellSource
} from '../format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1536, '1.5 kB'],
    [23_400_000, '23 MB'],
    [4_100_000_000, '4.1 GB'],
    [7e15, '7000 TB']
  ])('%d bytes read as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([null, undefined, -1, NaN, Infinity])('an unknown size (%p) reads as a dash', bytes => {
    expect(formatBytes(bytes)).toBe('—');
  });
});

describe('metrics', () => {
  it('keeps integers and rounds fractions', () => {
    expect(formatNumber(12)).toBe('12');
    expect(formatNumber(0.53219)).toBe('0.532');
    expect(formatNumber(123.456)).toBe('123.5');
  });

  it('joins registry metrics and skips empty ones', () => {
    expect(formatMetrics({ mAP: 0.5321, recall: 0.8, loss: 0.25, note: '', missing: null })).toBe(
      'val mAP (all) 53.2% · val recall 80.0% · val loss 0.250'
    );
    expect(formatMetrics(null)).toBe('');
  });

  it('shows the best metric of an experiment, or nothing yet', () => {
    expect(formatBestMetric({ metric: { name: 'mAP', value: 0.25 } })).toBe('best val mAP (all) 25.0%');
    expect(formatBestMetric({ metric: { name: 'accuracy', value: 0.9 } })).toBe('best val accuracy 90.0%');
    expect(formatBestMetric({ metric: null })).toBe('');
  });
});

describe('formatEpochs', () => {
  it('shows the last epoch out of the planned ones', () => {
    expect(formatEpochs({ epoch: 3, epochs: 10 })).toBe('epoch 3/10');
    expect(formatEpochs({ epoch: 3, epochs: null })).toBe('epoch 3');
    expect(formatEpochs({ epoch: null, epochs: 10 })).toBe('0/10 epochs');
    expect(formatEpochs({ epoch: null, epochs: null })).toBe('');
  });
});

describe('pullCellSource', () => {
  it('is the %tlt pull magic into pretrained/', () => {
    expect(pullCellSource('detectnet_v2_resnet18', '2')).toBe(
      '%tlt pull --model_name detectnet_v2_resnet18 --version 2 --dir pretrained'
    );
  });
});
