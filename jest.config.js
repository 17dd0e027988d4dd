/** Two tiers: unit tests do no I/O; integration tests use real sockets, processes and Redis. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

/**
 * The OTLP exporter loads `http` with a dynamic `import()`, which Jest's CommonJS runtime refuses on
 * Node 20 (https://github.com/jestjs/jest/issues/9430; the export then fails silently). ts-jest
 * rewrites that package's files to CommonJS (transpile only, cached after the first run), where it is
 * a `require`; every other package in node_modules stays untouched.
 */
const esmOnlyPackages = ['@opentelemetry/otlp-exporter-base'];
const esmTransform = {
  [`node_modules/(${esmOnlyPackages.join('|')})/.+\\.js$`]: ['ts-jest', { tsconfig: 'tsconfig.jest-esm.json' }],
};
const transformIgnorePatterns = [`/node_modules/(?!(${esmOnlyPackages.join('|')})/)`];

/** @type {import('jest').Config} */
module.exports = {
  // A global option: Jest ignores testTimeout inside a project entry.
  testTimeout: 30000,
  // A forgotten child, socket or timer must never turn a finished run into a CI timeout; the teardown
  // names whatever is left, so the leak is still seen and mended.
  forceExit: true,
  globalTeardown: '<rootDir>/test/open-handles-teardown.js',
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
      setupFilesAfterEnv: ['<rootDir>/test/integration-retry.ts'],
      transform: { '^.+\\.ts$': tsJest, ...esmTransform },
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
  ],
};
