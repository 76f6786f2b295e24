// sharedEnds: the prefix and suffix an edited list shares with its previous version.
import { describe, expect, it } from 'vitest';
import { sharedEnds } from '../../src/ir/shared-ends.js';

describe('sharedEnds', () => {
  const [a, b, c, d, x] = [{}, {}, {}, {}, {}];
  it('a list shares all of itself with itself', () => expect(sharedEnds([a, b, c], [a, b, c])).toEqual({ head: 3, tail: 0 }));
  it('an edit in the middle leaves a prefix and a suffix', () => expect(sharedEnds([a, b, c, d], [a, x, x, c, d])).toEqual({ head: 1, tail: 2 }));
  it('prefix and suffix never overlap, whichever list is longer', () => {
    expect(sharedEnds([a, a], [a])).toEqual({ head: 1, tail: 0 });
    expect(sharedEnds([a], [a, a])).toEqual({ head: 1, tail: 0 });
    expect(sharedEnds([], [a])).toEqual({ head: 0, tail: 0 });
  });
  it('equal but different objects are not shared', () => expect(sharedEnds([{ n: 1 }], [{ n: 1 }])).toEqual({ head: 0, tail: 0 }));
});
