/** Two tiers: unit tests do no I/O; integration tests use real sockets, processes and Redis. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

/**
 * jwks-rsa `require`s jose, which ships only as ES modules; Jest's CommonJS runtime cannot load it on
 * Node 20 (https://github.com/jestjs/jest/issues/9430). ts-jest rewrites jose's files to CommonJS
 * (transpile only, cached after the first run); every other package in node_modules stays untouched.
 * The OTLP exporter loads `http` with a dynamic `import()`, which Jest's runtime refuses the same way
 * (the export then fails silently); rewritten, it is a `require`.
 */
const esmOnlyPackages = ['jose', '@opentelemetry/otlp-exporter-base'];
const esmTransform = {
  [`node_modules/(${esmOnlyPackages.join('|')})/.+\\.js$`]: ['ts-jest', { tsconfig: 'tsconfig.jest-esm.json' }],
};
const transformIgnorePatterns = [`/node_modules/(?!(${esmOnlyPackages.join('|')})/)`];

/** @type {import('jest').Config} */
module.exports = {
  // A global option: Jest ignores testTimeout inside a project entry.
  testTimeout: 30000,
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest, ...esmTransform },
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      // The security suite (test/security/) runs on real sockets too, so it belongs to this tier.
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/security/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest, ...esmTransform },
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
  ],
};
