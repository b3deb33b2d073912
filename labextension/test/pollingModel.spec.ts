import { PolledResource, PollingModel } from '../src/pollingModel';

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
});
