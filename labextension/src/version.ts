import type { VersionInfo } from './types';

/**
 * What this lab extension expects of the server extension in the handshake.
 * `version` equals package.json's and jupyter_tlt.__version__ (a unit test checks).
 */
export const CLIENT_VERSION: VersionInfo = { version: '0.1.0', api: 1 };
