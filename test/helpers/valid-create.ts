/** A create body the provider (and so the sandbox) accepts, shared by every harness. */
export const VALID_CREATE = Object.freeze({
  hostName: 'web-01',
  image: 'UBUNTU-24.04',
  region: 'KGL-1',
  specification: 'S-1C-1G',
  publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB user@host'],
});
