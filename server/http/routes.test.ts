import { describe, expect, it } from 'vitest';
import { createRouter } from './routes.js';

const id = 'A'.repeat(43);

describe('createRouter', () => {
  it('routes drops, push sockets, the service description and operational endpoints at the root', () => {
    const route = createRouter('');
    expect(route(`/${id}`)).toEqual({ kind: 'drop', dropId: id });
    expect(route(`/${id}?x=1`)).toEqual({ kind: 'drop', dropId: id });
    expect(route(`/${id}/ws`)).toEqual({ kind: 'push', dropId: id });
    expect(route('/health')).toEqual({ kind: 'health' });
    expect(route('/metrics')).toEqual({ kind: 'metrics' });
    expect(route('/')).toEqual({ kind: 'info' });
    expect(route('/?x')).toEqual({ kind: 'info' });
    expect(route(`/${id}/x`)).toEqual({ kind: 'notFound' });
    expect(route(`/a/${id}/ws`)).toEqual({ kind: 'notFound' });
  });

  it('routes under a service path only', () => {
    const route = createRouter('/tools/drop');
    expect(route(`/tools/drop/${id}`)).toEqual({ kind: 'drop', dropId: id });
    expect(route(`/tools/drop/${id}/ws`)).toEqual({ kind: 'push', dropId: id });
    expect(route('/tools/drop/health')).toEqual({ kind: 'health' });
    expect(route('/tools/drop')).toEqual({ kind: 'info' });
    expect(route('/tools/drop/')).toEqual({ kind: 'info' });
    expect(route('/health')).toEqual({ kind: 'health' });
    expect(route('/')).toEqual({ kind: 'notFound' });
    expect(route(`/${id}`)).toEqual({ kind: 'notFound' });
    expect(route(`/tools/dropx/${id}`)).toEqual({ kind: 'notFound' });
  });

  it('routes blobs and discovery beside the drops (neither is a drop ID) and nothing deeper', () => {
    const route = createRouter('/tools/drop');
    expect(route('/tools/drop/blobs')).toEqual({ kind: 'blob', blobId: null });
    expect(route(`/tools/drop/blobs/${id}`)).toEqual({ kind: 'blob', blobId: id });
    expect(route(`/tools/drop/blobs/${id}?x=1`)).toEqual({ kind: 'blob', blobId: id });
    expect(route(`/tools/drop/blobs/${id}/more`)).toEqual({ kind: 'notFound' });
    expect(route('/tools/drop/.well-known/deaddrop')).toEqual({ kind: 'discovery' });
    expect(route('/tools/drop/.well-known/other')).toEqual({ kind: 'notFound' });
    expect(route('/blobs')).toEqual({ kind: 'notFound' });
  });

  it('leaves the root to the host application when mounted', () => {
    const route = createRouter('/tools/drop', { operationalAtRoot: false });
    expect(route('/health')).toEqual({ kind: 'notFound' });
    expect(route('/metrics')).toEqual({ kind: 'notFound' });
    expect(route('/tools/drop/health')).toEqual({ kind: 'health' });
  });
});
