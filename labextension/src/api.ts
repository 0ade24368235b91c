import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type {
  CompareAnswer,
  ExperimentDetail,
  ExperimentListing,
  GalleryPage,
  Job,
  LineageAnswer,
  RegistryListing,
  VersionInfo,
  ViewAnswer
} from './types';

/** Where the server extension's routes live, below the server's base URL. */
export const API_NAMESPACE = 'tlt/api';

/** A non-2xx answer of the server extension, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The URL of an endpoint. Each segment may hold slashes (experiment paths):
 * the parts between them are percent-encoded, the slashes are kept.
 */
export function apiUrl(baseUrl: string, ...segments: string[]): string {
  const path = segments
    .flatMap(segment => segment.split('/'))
    .filter(part => part !== '')
    .map(encodeURIComponent)
    .join('/');
  return URLExt.join(baseUrl, API_NAMESPACE, path);
}

/** Call an endpoint and return its JSON answer; throws ApiError otherwise. */
export async function requestAPI<T>(
  segments: string[],
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  query = ''
): Promise<T> {
  const url = apiUrl(settings.baseUrl, ...segments) + (query ? `?${query}` : '');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(`The Jupyter server did not answer: ${error}`, 0);
  }
  const text = await response.text();
  const data = parseJSON(text);
  if (!response.ok) {
    const message =
      typeof data?.message === 'string'
        ? data.message
        : `${response.status} ${response.statusText}`.trim();
    throw new ApiError(message, response.status);
  }
  return data as T;
}

function parseJSON(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The server extension's endpoints, one method each. */
export interface TltApi {
  version(): Promise<VersionInfo>;
  models(): Promise<RegistryListing>;
  pull(name: string, version: string): Promise<{ job: string }>;
  job(id: string): Promise<Job>;
  experiments(): Promise<ExperimentListing>;
  experiment(path: string): Promise<ExperimentDetail>;
  lineage(path: string): Promise<LineageAnswer>;
  compare(paths: string[]): Promise<CompareAnswer>;
  view(path: string): Promise<ViewAnswer>;
  stop(path: string): Promise<{ path: string; stop: string }>;
  tensorboard(path: string): Promise<{ path: string; url: string }>;
  gallery(path: string, offset: number, limit: number): Promise<GalleryPage>;
  /** The URL of an image under the experiments root (for <img>: the login cookie authenticates it). */
  imageUrl(path: string, thumbnail: boolean): string;
}

/** The query of GET compare: ?path=A&path=B (each path percent-encoded). */
export function compareQuery(paths: readonly string[]): string {
  return paths.map(path => `path=${encodeURIComponent(path)}`).join('&');
}

/** TltApi over HTTP, with the settings of the running JupyterLab by default. */
export function restApi(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): TltApi {
  const get = <T>(...segments: string[]) =>
    requestAPI<T>(segments, {}, settings);
  return {
    version: () => get('version'),
    models: () => get('registry/models'),
    pull: (name, version) =>
      requestAPI(
        ['registry/pull'],
        { method: 'POST', body: JSON.stringify({ name, version }) },
        settings
      ),
    job: id => get('jobs', id),
    experiments: () => get('experiments'),
    experiment: path => get('experiments', path),
    lineage: path => get('lineage', path),
    compare: paths => requestAPI(['compare'], {}, settings, compareQuery(paths)),
    view: path => get('view', path),
    stop: path => requestAPI(['stop', path], { method: 'POST', body: '' }, settings),
    tensorboard: path => requestAPI(['tensorboard', path], { method: 'POST', body: '' }, settings),
    gallery: (path, offset, limit) =>
      requestAPI(['gallery', path], {}, settings, `offset=${offset}&limit=${limit}`),
    imageUrl: (path, thumbnail) => apiUrl(settings.baseUrl, 'image', path) + (thumbnail ? '?thumbnail=1' : '')
  };
}
