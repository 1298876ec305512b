import { GroupedWrites, type WriteGrouping } from './grouped-writes.js';

interface Write {
  key: string;
  size: number;
}

/** A grouping whose statements are held until the test lets them finish. */
function heldGrouping(overrides: Partial<WriteGrouping<Write, string>> = {}) {
  const groups: string[][] = [];
  const alone: string[] = [];
  const held: (() => void)[] = [];
  const hold = () => new Promise<void>((resolve) => held.push(resolve));
  const grouping: WriteGrouping<Write, string> = {
    writeGroup: async (items) => {
      groups.push(items.map((item) => item.key));
      await hold();
      return items.map((item) => `group:${item.key}`);
    },
    writeOne: async (item) => {
      alone.push(item.key);
      await hold();
      return `one:${item.key}`;
    },
    maxItems: 3,
    ...overrides,
  };
  const release = async () => {
    while (held.length > 0) {
      held.splice(0).forEach((resolve) => resolve());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { grouping, groups, alone, release };
}

const write = (key: string, size = 1): Write => ({ key, size });

describe('GroupedWrites', () => {
  it('writes the first at once and what arrives meanwhile in groups, in order, within maxItems', async () => {
    const { grouping, groups, alone, release } = heldGrouping();
    const writes = new GroupedWrites(grouping);
    const results = ['a', 'b', 'c', 'd', 'e'].map((key) =>
      writes.add(write(key)),
    );
    await release();
    // 'e' is the last group's only write, and a group of one goes alone.
    expect(alone).toEqual(['a', 'e']);
    expect(groups).toEqual([['b', 'c', 'd']]);
    expect(await Promise.all(results)).toEqual([
      'one:a',
      'group:b',
      'group:c',
      'group:d',
      'one:e',
    ]);
  });

  it('never puts two writes of one key in a group, nor more weight than maxWeight', async () => {
    const { grouping, groups, release } = heldGrouping({
      maxItems: 10,
      keyOf: (item) => item.key,
      weightOf: (item) => item.size,
      maxWeight: 10,
    });
    const writes = new GroupedWrites(grouping);
    const all = [
      write('first'),
      write('x'),
      write('x'),
      write('y', 6),
      write('z', 6),
      write('w', 20),
      write('v'),
    ].map((item) => writes.add(item));
    await release();
    await Promise.all(all);
    expect(groups).toEqual([
      ['x', 'y', 'v'],
      ['x', 'z'],
    ]);
  });

  it('writes each alone when its group failed, each with its own answer', async () => {
    const { grouping, alone, release } = heldGrouping();
    const writes = new GroupedWrites({
      ...grouping,
      writeGroup: () => Promise.reject(new Error('one row broke it')),
      writeOne: (item) =>
        item.key === 'bad'
          ? Promise.reject(new Error('refused'))
          : grouping.writeOne(item),
    });
    const first = writes.add(write('first'));
    const good = writes.add(write('good'));
    const bad = expect(writes.add(write('bad'))).rejects.toThrow('refused');
    await release();
    await expect(first).resolves.toBe('one:first');
    await expect(good).resolves.toBe('one:good');
    await bad;
    expect(alone).toEqual(['first', 'good']);
  });

  it('gives up on writes past their deadline: those sent go on and land in late(), the others are never written', async () => {
    const late: [string, string][] = [];
    const { grouping, release, alone, groups } = heldGrouping({
      deadline: {
        ms: 20,
        error: () => new Error('too slow'),
        late: (item, result) => late.push([item.key, result]),
      },
    });
    const writes = new GroupedWrites(grouping);
    // The first goes alone (and hangs); the next two wait behind it.
    const outcomes = ['a', 'b', 'c'].map((key) =>
      writes.add(write(key)).then(
        (result) => `resolved ${result}`,
        (error: Error) => `rejected ${error.message}`,
      ),
    );
    // Held past the deadline: every caller is told so, none waits for the database.
    expect(await Promise.all(outcomes)).toEqual([
      'rejected too slow',
      'rejected too slow',
      'rejected too slow',
    ]);
    await release();
    // The one sent lands late; those never sent are never written.
    expect(late).toEqual([['a', 'one:a']]);
    expect(alone).toEqual(['a']);
    expect(groups).toEqual([]);
    // A write that arrives later has a deadline of its own.
    const next = writes.add(write('d'));
    await release();
    expect(await next).toBe('one:d');
  });
});
