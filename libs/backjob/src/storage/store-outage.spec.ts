import { describe, expect, it } from 'vitest';
import { StoreOutage } from './store-outage.js';

describe('StoreOutage', () => {
  it('tells the first failure of each outage, and says when one ends', () => {
    const outage = new StoreOutage();
    const told: number[] = [];
    expect(outage.ended()).toBe(false);
    for (const call of [1, 2, 3]) outage.failed(() => told.push(call));
    expect(told).toEqual([1]);
    expect(outage.ended()).toBe(true);
    expect(outage.ended()).toBe(false);
    outage.failed(() => told.push(4));
    outage.failed(() => told.push(5));
    expect(told).toEqual([1, 4]);
  });
});
