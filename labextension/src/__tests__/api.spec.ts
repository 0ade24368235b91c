/**
 * @jest-environment node
 */
// The node environment has fetch, Request and Headers; the server is a fetch
// function answering canned responses, the rest is JupyterLab's real ServerConnection.
import { ServerConnection } from '@jupyterlab/services';

import { ApiError, apiUrl, requestAPI, restApi } from '../api';

const BASE = 'http://localhost:8888/lab/base/';

describe('apiUrl', () => {
  it('puts endpoints under tlt/api of the base URL', () => {
    expect(apiUrl(BASE, 'version')).toBe('http://localhost:8888/lab/base/tlt/api/version');
    expect(apiUrl('http://h/', 'registry/models')).toBe('http://h/tlt/api/registry/models');
  });

  it('encodes each part of a path and keeps its slashes', () => {
    expect(apiUrl(BASE, 'experiments', 'runs/a b/exp#1?x')).toBe(
      'http://localhost:8888/lab/base/tlt/api/experiments/runs/a%20b/exp%231%3Fx'
    );
  });

  it('drops empty parts', () => {
    expect(apiUrl('http://h/', 'experiments', '/runs//a/')).toBe('http://h/tlt/api/experiments/runs/a');
  });
});

/** Settings whose fetch records the requests and answers with `answer`. */
function serverAnswering(answer: () => Response | Promise<Response>) {
  const requests: Request[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: BASE,
    token: 'secret',
    fetch: async (input: RequestInfo) => {
      requests.push(input as Request);
      return answer();
    }
  });
  return { requests, settings };
}

/** A request's URL without the cache-busting query ServerConnection appends. */
const withoutQuery = (request: Request) => request.url.split('?')[0];

/** The ApiError a request fails with. */
async function failure(request: Promise<unknown>): Promise<ApiError> {
  const error = await request.then(
    () => null,
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('requestAPI', () => {
  it('returns the JSON answer and sends the token', async () => {
    const { requests, settings } = serverAnswering(() => json(200, { version: '0.1.0', api: 1 }));
    await expect(requestAPI(['version'], {}, settings)).resolves.toEqual({ version: '0.1.0', api: 1 });
    expect(withoutQuery(requests[0])).toBe(`${BASE}tlt/api/version`);
    expect(requests[0].headers.get('Authorization')).toBe('token secret');
  });

  it('throws the server message with the status', async () => {
    const { settings } = serverAnswering(() => json(400, { message: 'path outside the root' }));
    const error = await failure(requestAPI(['experiments', '../x'], {}, settings));
    expect(error.status).toBe(400);
    expect(error.message).toBe('path outside the root');
  });

  it('reads a non-JSON 404 page as status 404', async () => {
    const { settings } = serverAnswering(() => new Response('<html>404</html>', { status: 404, statusText: 'Not Found' }));
    const error = await failure(requestAPI(['version'], {}, settings));
    expect(error).toMatchObject({ status: 404, message: '404 Not Found' });
  });

  it('reads an unreachable server as status 0', async () => {
    const { settings } = serverAnswering(() => Promise.reject(new TypeError('fetch failed')));
    const error = await failure(requestAPI(['version'], {}, settings));
    expect(error.status).toBe(0);
  });
});

describe('restApi', () => {
  it('posts a pull and reads its job', async () => {
    const { requests, settings } = serverAnswering(() => json(202, { job: 'j1' }));
    const api = restApi(settings);
    await expect(api.pull('resnet18', '2')).resolves.toEqual({ job: 'j1' });
    expect(requests[0].method).toBe('POST');
    expect(withoutQuery(requests[0])).toBe(`${BASE}tlt/api/registry/pull`);
    await expect(requests[0].json()).resolves.toEqual({ name: 'resnet18', version: '2' });
    await api.job('j1');
    expect(withoutQuery(requests[1])).toBe(`${BASE}tlt/api/jobs/j1`);
    await api.experiment('runs/detect 1');
    expect(withoutQuery(requests[2])).toBe(`${BASE}tlt/api/experiments/runs/detect%201`);
  });

  it('pages a gallery and builds the image URLs of its thumbnails and large images', async () => {
    const page = { path: 'runs/d/infer', total: 0, offset: 60, limit: 60, images: [] };
    const { requests, settings } = serverAnswering(() => json(200, page));
    const api = restApi(settings);
    await expect(api.gallery('runs/d/infer', 60, 60)).resolves.toEqual(page);
    expect(requests[0].url.startsWith(`${BASE}tlt/api/gallery/runs/d/infer?offset=60&limit=60`)).toBe(true);
    expect(api.imageUrl('runs/d/infer/images/a b.jpg', true)).toBe(
      `${BASE}tlt/api/image/runs/d/infer/images/a%20b.jpg?thumbnail=1`
    );
    expect(api.imageUrl('runs/d/infer/images/1.jpg', false)).toBe(`${BASE}tlt/api/image/runs/d/infer/images/1.jpg`);
  });
});
