import {
  isReservedTag,
  OWNER_TAG_MAX_LENGTH,
  ownerTagFor,
  ownerTagProblem,
  withOwnerTag,
} from '../../../src/gateway/least-privilege/owner-tag';

describe('withOwnerTag', () => {
  it('appends owner:<caller> to the tags, in a new object', () => {
    const body = { hostName: 'as-1', tags: ['autoscaler'] };
    const tagged = withOwnerTag(body, 'autoscaler');
    expect(tagged).toEqual({ hostName: 'as-1', tags: ['autoscaler', 'owner:autoscaler'] });
    expect(body).toEqual({ hostName: 'as-1', tags: ['autoscaler'] });
    expect(tagged.tags).not.toBe(body.tags);
  });

  it.each([
    ['absent', { hostName: 'a' }, { hostName: 'a', tags: ['owner:me'] }],
    ['null', { hostName: 'a', tags: null }, { hostName: 'a', tags: ['owner:me'] }],
    ['empty', { tags: [] }, { tags: ['owner:me'] }],
    ['already there, once', { tags: ['owner:me', 'x'] }, { tags: ['owner:me', 'x'] }],
    // Not a list: left for the provider to refuse, never silently replaced.
    ['a string', { tags: 'web' }, { tags: 'web' }],
    ['an object', { tags: { a: 1 } }, { tags: { a: 1 } }],
  ])('tags %s', (_name, body, expected) => {
    expect(withOwnerTag(body as Record<string, unknown>, 'me')).toEqual(expected);
  });

  it('keeps a "__proto__" key an ordinary own property', () => {
    const body = JSON.parse('{"__proto__": {"polluted": true}, "hostName": "a"}') as Record<string, unknown>;
    const tagged = withOwnerTag(body, 'me');
    expect(Object.getPrototypeOf(tagged)).toBe(Object.prototype);
    expect(JSON.stringify(tagged)).toBe('{"__proto__":{"polluted":true},"hostName":"a","tags":["owner:me"]}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('ownerTagFor / ownerTagProblem', () => {
  it('makes owner:<caller>', () => {
    expect(ownerTagFor('system:serviceaccount:tools:reporter')).toBe('owner:system:serviceaccount:tools:reporter');
  });

  it(`accepts a tag of up to ${OWNER_TAG_MAX_LENGTH} characters`, () => {
    expect(ownerTagProblem('c'.repeat(58))).toBeUndefined();
    expect(ownerTagProblem('c'.repeat(59))).toContain('would have 65 characters, more than 64');
  });

  it("refuses spaces and non-ASCII (a caller name never has them, but the rule is the tag's)", () => {
    expect(ownerTagProblem('a b')).toBe('the owner tag must be printable ASCII without spaces');
    expect(ownerTagProblem('é')).toBe('the owner tag must be printable ASCII without spaces');
  });
});

describe('isReservedTag', () => {
  it.each([
    ['owner:x', true],
    ['owner:', true],
    ['OWNER:x', true],
    ['Owner:x', true],
    ['owner', false],
    ['owners:x', false],
    ['x-owner:y', false],
    ['', false],
  ])('%j → %s', (tag, expected) => {
    expect(isReservedTag(tag)).toBe(expected);
  });
});
