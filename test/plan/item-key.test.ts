/** itemKeyer encodes the constant part of item keys once: it must give exactly itemKey's keys. */
import { beforeAll, describe, expect, it } from 'vitest';
import { itemKey, itemKeyer } from '../../src/plan/fingerprint.ts';
import { hashBytes, initHasher, type Digest } from '../../src/hash/digest.ts';
import type { StageInstance } from '../../src/model.ts';

beforeAll(() => initHasher());

const h = (s: string) => hashBytes(s) as Digest;
const stage = (over: Partial<StageInstance>): StageInstance =>
  ({ name: 's', kind: 'uses', uses: 'deglare', cmd: undefined, params: { in: 'data', out: 'work', q: 0.5 }, env: {}, map: { in: 'data', out: 'work', glob: '**' }, ...over }) as unknown as StageInstance;

describe('itemKeyer', () => {
  const stages: [string, StageInstance][] = [
    ['built-in', stage({})],
    ['cmd with env', stage({ kind: 'cmd', uses: undefined, cmd: 'cp data/{rel} {out}', params: {}, env: { A: '1' } } as Partial<StageInstance>)],
    ['nested params', stage({ params: { in: 'data', out: 'work', list: [1, 'two', { three: null }], s: 's5:rel' } })],
    // A param holding a stand-in the keyer uses: it must fall back to the plain encoding.
    ['stand-in in params', stage({ params: { in: 'data', out: 'work', odd: '\0rel\0' } })],
  ];
  for (const [name, st] of stages) {
    it(`gives itemKey's keys: ${name}`, () => {
      const others = { 'models/x.json': { hash: h('m'), size: 3 }, 'a.txt': { hash: h('a'), size: 1 } };
      const code = h('code');
      for (const deps of [{}, others]) {
        const keyOf = itemKeyer(st, code, deps);
        for (const rel of ['a.png', 'sub dir/ü.jpg', 'x/y/z.txt', '']) {
          expect(keyOf(rel, h(rel))).toBe(itemKey(st, code, rel, h(rel), deps));
        }
      }
      // Different paths and contents still give different keys.
      const keyOf = itemKeyer(st, code);
      expect(keyOf('a', h('1'))).not.toBe(keyOf('b', h('1')));
      expect(keyOf('a', h('1'))).not.toBe(keyOf('a', h('2')));
    });
  }
});
