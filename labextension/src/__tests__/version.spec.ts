import { readFileSync } from 'fs';
import { join } from 'path';

import { CLIENT_VERSION } from '../version';

const ROOT = join(__dirname, '..', '..', '..');

describe('CLIENT_VERSION', () => {
  it('equals the npm package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(CLIENT_VERSION.version).toBe(pkg.version);
  });

  it('equals jupyter_tlt.__version__', () => {
    const init = readFileSync(join(ROOT, 'jupyter_tlt', '__init__.py'), 'utf8');
    expect(init).toMatch(new RegExp(`^__version__ = "${CLIENT_VERSION.version}"$`, 'm'));
  });
});
