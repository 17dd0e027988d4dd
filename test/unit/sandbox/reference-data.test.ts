import {
  IMAGES,
  REGIONS,
  SPECIFICATIONS,
  findSpecification,
  isStrictlyLarger,
} from '../../../src/sandbox/reference-data';

describe('reference data (NOTES.md §2)', () => {
  it('has the one region', () => {
    expect(REGIONS).toEqual([{ id: 1, region: 'KGL-1', name: 'Kigali-1', countryCode: 'RW' }]);
  });

  it('has the two images', () => {
    expect(IMAGES.map((i) => i.image)).toEqual(['UBUNTU-24.04', 'UBUNTU-22.04']);
    expect(IMAGES[0]).toEqual({
      image: 'UBUNTU-24.04',
      imageName: 'Ubuntu',
      version: '24.04',
      displayName: '24.04 LTS',
    });
  });

  it('has the seven specifications with their sizes', () => {
    expect(SPECIFICATIONS.map((s) => [s.specification, s.vcpus, s.memoryMb, s.storageGb])).toEqual([
      ['S-1C', 1, 512, 10],
      ['S-1C-1G', 1, 1024, 20],
      ['S-1C-2G', 1, 2048, 40],
      ['S-2C-4G', 2, 4096, 80],
      ['S-4C-8G', 4, 8192, 160],
      ['S-8C-16G', 8, 16384, 320],
      ['S-16C-32G', 16, 32768, 640],
    ]);
  });

  it('gives each specification a stable, distinct UUID v4 (the first as in the provider example)', () => {
    expect(SPECIFICATIONS[0]!.id).toBe('1076fa22-b49b-4b8f-827e-20f84262916c');
    expect(new Set(SPECIFICATIONS.map((s) => s.id)).size).toBe(7);
    for (const s of SPECIFICATIONS)
      expect(s.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(SPECIFICATIONS) && Object.isFrozen(SPECIFICATIONS[0])).toBe(true);
  });

  it.each([
    ['S-1C', 'S-1C-1G', true],
    ['S-1C-1G', 'S-16C-32G', true],
    ['S-1C-1G', 'S-1C-1G', false],
    ['S-2C-4G', 'S-1C-2G', false],
  ])('%s → %s is strictly larger: %s', (from, to, expected) => {
    expect(isStrictlyLarger(findSpecification(from)!, findSpecification(to)!)).toBe(expected);
  });

  it('every later specification is strictly larger than every earlier one', () => {
    SPECIFICATIONS.forEach((a, i) => SPECIFICATIONS.forEach((b, j) => expect(isStrictlyLarger(a, b)).toBe(j > i)));
  });
});
