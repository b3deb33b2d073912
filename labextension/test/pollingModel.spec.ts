import {
  IResourceState,
  PolledResource,
  PollingModel,
  resourceKey,
  sharedPolling
} from '../src/pollingModel';

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Wait until `test()` holds, at most 2 s. */
async function until(test: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!test()) {
    if (Date.now() > deadline) {
      throw new Error('timed out');
    }
    await sleep(5);
  }
}

describe('PollingModel', () => {
  let model: PollingModel;
  beforeEach(() => {
    model = new PollingModel();
  });
  afterEach(() => model.dispose());

  it('shares one resource, and one request loop, per key', async () => {
    let calls = 0;
    const fetch = async () => ++calls;
    const a = model.acquire('runs', { fetch, interval: 20 });
    const b = model.acquire('runs', { fetch, interval: 20 });
    expect(a).toBe(b);
    a.setActive(1);
    b.setActive(1);
    await until(() => calls >= 3);
    await sleep(30);
    const elapsedCalls = calls;
    // two subscribers, one loop: about one call per interval, not two
    expect(elapsedCalls).toBeLessThan(12);
    expect(model.keys).toEqual(['runs']);
    model.release('runs');
    expect(model.keys).toEqual(['runs']);
    model.release('runs');
    expect(model.keys).toEqual([]);
    expect(a.isDisposed).toBe(true);
    const after = calls;
    await sleep(60);
    expect(calls).toBe(after);
  });

  it('emits each new state and keeps the data through an error', async () => {
    let fail = false;
    const resource = model.acquire('x', {
      fetch: async () => {
        if (fail) {
          throw new Error('server down');
        }
        return 'ok';
      },
      interval: 10
    });
    const seen: Array<string | undefined> = [];
    resource.changed.connect((_, state) =>
      seen.push(state.error ? `error:${state.error.message}` : state.data)
    );
    expect(resource.state.loading).toBe(true);
    resource.setActive(1);
    await until(() => seen.includes('ok'));
    expect(resource.state.loading).toBe(false);
    fail = true;
    await until(() => resource.state.error !== undefined);
    expect(resource.state.data).toBe('ok');
    expect(resource.state.error!.message).toBe('server down');
    fail = false;
    await until(() => resource.state.error === undefined);
    expect(seen).toContain('error:server down');
  });

  it('polls nothing while nobody is active, but refresh fetches at once', async () => {
    let calls = 0;
    const resource = model.acquire('idle', {
      fetch: async () => ++calls,
      interval: 10
    });
    await sleep(50);
    expect(calls).toBe(0);
    await resource.refresh();
    expect(calls).toBe(1);
    expect(resource.state.data).toBe(1);
    resource.setActive(1);
    await until(() => calls >= 3);
    resource.setActive(-1);
    await sleep(30);
    const paused = calls;
    await sleep(60);
    expect(calls).toBe(paused);
  });

  it('stops once the data says it is done; refresh still fetches', async () => {
    let calls = 0;
    const resource: PolledResource<number> = model.acquire('run', {
      fetch: async () => ++calls,
      interval: 10,
      done: n => n >= 2
    });
    resource.setActive(1);
    await until(() => calls >= 2);
    await sleep(60);
    expect(calls).toBe(2);
    await resource.refresh();
    expect(calls).toBe(3);
  });

  it('refreshAll fetches every resource', async () => {
    const counts = { a: 0, b: 0 };
    model.acquire('a', { fetch: async () => ++counts.a, interval: 10000 });
    model.acquire('b', { fetch: async () => ++counts.b, interval: 10000 });
    await model.refreshAll();
    expect(counts).toEqual({ a: 1, b: 1 });
  });

  describe('subscribe', () => {
    it('gives every subscriber of a key the same resource and one loop', async () => {
      let calls = 0;
      const options = { fetch: async () => ++calls, interval: 20 };
      const heardA: number[] = [];
      const heardB: number[] = [];
      const a = model.subscribe('jobs', options, s => heardA.push(s.data!));
      const b = model.subscribe('jobs', options, s => heardB.push(s.data!));
      expect(a.resource).toBe(b.resource);
      expect(model.users('jobs')).toBe(2);
      a.setActive(true);
      b.setActive(true);
      expect(a.resource.activeCount).toBe(2);
      await until(() => calls >= 3);
      // both hear the same answers of the one loop
      expect(heardA.slice(0, 3)).toEqual([1, 2, 3]);
      expect(heardB.slice(0, 3)).toEqual([1, 2, 3]);
      a.dispose();
      b.dispose();
    });

    it('counts each subscription once however often setActive is called', () => {
      const options = { fetch: async () => 1, interval: 10000 };
      const a = model.subscribe('x', options);
      a.setActive(true);
      a.setActive(true);
      expect(a.resource.activeCount).toBe(1);
      a.setActive(false);
      a.setActive(false);
      expect(a.resource.activeCount).toBe(0);
      a.dispose();
    });

    it('stops polling when no subscriber is active, and drops the resource after the last one', async () => {
      let calls = 0;
      const options = { fetch: async () => ++calls, interval: 10 };
      const a = model.subscribe('monitors', options);
      const b = model.subscribe('monitors', options);
      a.setActive(true);
      await until(() => calls >= 2);
      // the active subscriber leaves; the other one is still there but not looking
      a.dispose();
      expect(model.users('monitors')).toBe(1);
      expect(b.resource.activeCount).toBe(0);
      await sleep(30);
      const paused = calls;
      await sleep(60);
      expect(calls).toBe(paused);
      expect(b.resource.isDisposed).toBe(false);
      b.dispose();
      expect(model.users('monitors')).toBe(0);
      expect(model.keys).toEqual([]);
      expect(b.resource.isDisposed).toBe(true);
      // disposing twice releases nothing more
      b.dispose();
      expect(model.keys).toEqual([]);
    });

    it('a disposed subscription hears nothing more; the others go on', async () => {
      let calls = 0;
      const options = { fetch: async () => ++calls, interval: 10 };
      const heardA: Array<IResourceState<number>> = [];
      const heardB: Array<IResourceState<number>> = [];
      const a = model.subscribe('runs', options, s => heardA.push(s));
      const b = model.subscribe('runs', options, s => heardB.push(s));
      a.setActive(true);
      b.setActive(true);
      await until(() => calls >= 1);
      a.dispose();
      const heard = heardA.length;
      await until(() => heardB.length >= heard + 2);
      expect(heardA.length).toBe(heard);
      expect(b.resource.activeCount).toBe(1);
      b.dispose();
    });

    it('a late subscriber finds the data already fetched', async () => {
      const options = { fetch: async () => 'rows', interval: 10000 };
      const a = model.subscribe('tree', options);
      a.setActive(true);
      await until(() => a.resource.state.data === 'rows');
      const b = model.subscribe('tree', {
        fetch: async () => 'other',
        interval: 10000
      });
      expect(b.resource.state).toEqual({
        data: 'rows',
        error: undefined,
        loading: false
      });
      a.dispose();
      b.dispose();
    });

    it('a key subscribed again after its last release starts afresh', async () => {
      const a = model.subscribe('v', { fetch: async () => 1, interval: 10000 });
      await a.resource.refresh();
      a.dispose();
      const b = model.subscribe('v', { fetch: async () => 2, interval: 10000 });
      expect(b.resource).not.toBe(a.resource);
      expect(b.resource.state.loading).toBe(true);
      b.dispose();
    });
  });
});

describe('resourceKey', () => {
  it('names a resource by what it fetches and how often', () => {
    expect(resourceKey('jobs', 5000)).toBe('jobs@5000');
    expect(resourceKey('jobs', 5000)).not.toBe(resourceKey('jobs', 2000));
    expect(resourceKey('run:abc', 2000)).toBe(resourceKey('run:abc', 2000));
  });
});

describe('sharedPolling', () => {
  it('is one model for the whole extension', async () => {
    const mod = await import('../src/pollingModel');
    expect(mod.sharedPolling).toBe(sharedPolling);
    expect(sharedPolling).toBeInstanceOf(PollingModel);
  });
});
