/**
 * The provider's reference data, exactly as documented (NOTES.md §2). The sandbox validates slugs
 * against these tables, so a client that works here uses the same slugs as production.
 */
export interface Region {
  id: number;
  region: string;
  name: string;
  countryCode: string;
}

export interface Image {
  image: string;
  imageName: string;
  version: string;
  /** The current OpenAPI document shows "24.04 LTS" (older renders said "Ubuntu 24.04 LTS"). */
  displayName: string;
}

export interface Specification {
  /** Stable UUIDs: they never change between runs, so clients may cache them. */
  id: string;
  specification: string;
  vcpus: number;
  memoryMb: number;
  storageGb: number;
}

export const REGIONS: readonly Region[] = Object.freeze([
  Object.freeze({ id: 1, region: 'KGL-1', name: 'Kigali-1', countryCode: 'RW' }),
]);

export const IMAGES: readonly Image[] = Object.freeze([
  Object.freeze({ image: 'UBUNTU-24.04', imageName: 'Ubuntu', version: '24.04', displayName: '24.04 LTS' }),
  Object.freeze({ image: 'UBUNTU-22.04', imageName: 'Ubuntu', version: '22.04', displayName: '22.04 LTS' }),
]);

/** Ordered from smallest to largest; the first id is the one in the provider's example. */
export const SPECIFICATIONS: readonly Specification[] = Object.freeze(
  [
    { id: '1076fa22-b49b-4b8f-827e-20f84262916c', specification: 'S-1C', vcpus: 1, memoryMb: 512, storageGb: 10 },
    { id: '448186b6-d911-43ab-a4a0-b21c143f15e7', specification: 'S-1C-1G', vcpus: 1, memoryMb: 1024, storageGb: 20 },
    { id: '43977a8d-8b67-411e-bcc8-5e94397985cc', specification: 'S-1C-2G', vcpus: 1, memoryMb: 2048, storageGb: 40 },
    { id: 'dc6839dc-0e9e-4fae-a987-6b0f27243590', specification: 'S-2C-4G', vcpus: 2, memoryMb: 4096, storageGb: 80 },
    { id: '97fefe77-2cbb-4858-8bd1-e827190d46f9', specification: 'S-4C-8G', vcpus: 4, memoryMb: 8192, storageGb: 160 },
    {
      id: '63f2e00d-a713-4683-ad3c-c89e8c2b6ac5',
      specification: 'S-8C-16G',
      vcpus: 8,
      memoryMb: 16384,
      storageGb: 320,
    },
    {
      id: '46608b81-5c0f-4ba0-85ca-1884583dd546',
      specification: 'S-16C-32G',
      vcpus: 16,
      memoryMb: 32768,
      storageGb: 640,
    },
  ].map((spec) => Object.freeze(spec)),
);

export const HEALTH = Object.freeze({ service: 'public-api', status: 'ok' });

export function findRegion(slug: string): Region | undefined {
  return REGIONS.find((r) => r.region === slug);
}

export function findImage(slug: string): Image | undefined {
  return IMAGES.find((i) => i.image === slug);
}

export function findSpecification(slug: string): Specification | undefined {
  return SPECIFICATIONS.find((s) => s.specification === slug);
}

/**
 * "Upsize" only goes up (the name, and the Terraform provider's "upward only"): every dimension at
 * least as large and the whole strictly larger. Equal or smaller is refused.
 */
export function isStrictlyLarger(from: Specification, to: Specification): boolean {
  const notSmaller = to.vcpus >= from.vcpus && to.memoryMb >= from.memoryMb && to.storageGb >= from.storageGb;
  const same = to.vcpus === from.vcpus && to.memoryMb === from.memoryMb && to.storageGb === from.storageGb;
  return notSmaller && !same;
}
