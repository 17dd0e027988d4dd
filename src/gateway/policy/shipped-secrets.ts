/**
 * SHA-256 digests (hex) of every secret value the repository ships or has shipped in its examples
 * (config/, deploy/, docker-compose.yml, the docs): anyone who read the repository knows them, so an
 * HS256 secret among them lets anyone mint tokens. Digests, never the values, so that this file is
 * not one more copy. `test/unit/policy/shipped-secrets.test.ts` scans the example files and fails
 * when a secret value there is missing from this list.
 */
export const SHIPPED_SECRET_DIGESTS: ReadonlyMap<string, string> = new Map([
  // deploy/kubernetes/secret.yaml, before issue #11 (placeholders, applied as they were by some).
  ['666d8a61eae5da3a3d857610c1ef7b2ec9bf1e45141c202c033e0927264db234', 'deploy/kubernetes/secret.yaml'],
  ['0c461c35639395bc3ec8dbdc8e28c8c405dc3fffed59a0c1d14c9de5bc87e226', 'deploy/kubernetes/secret.yaml'],
  // docker-compose.yml's demo JWT_HS_SECRET, before issue #11 (compose now generates its secrets).
  ['43e2cf6a23482db50df46fe518811aa0b28fc99fa46cbcc98f41fc2636caa4b1', 'docker-compose.yml'],
  // docker-compose.yml's STRETTCH_KEY_SANDBOX: the sandbox's built-in demo owner key.
  ['4cad186ac8835ae1dc9782feb48f2f33fb815e8ee2f216872491f3a8c7c318e3', 'docker-compose.yml'],
]);
