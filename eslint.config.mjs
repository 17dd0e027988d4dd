import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Lint holds the layering. Each external library is imported by its one module, and the core never reaches
// into the command line, the sandbox or the benches.
const LIBRARY_HOMES = {
  ioredis: ['src/redis/'],
  jsonwebtoken: ['src/gateway/auth/'],
  'rate-limiter-flexible': ['src/schedule/protective-limits.ts'],
  'http-proxy-middleware': ['src/gateway/forward/'],
  'prom-client': ['src/gateway/observability/metrics.ts'],
  '@opentelemetry/sdk-trace-node': ['src/gateway/observability/tracing/'],
  '@opentelemetry/sdk-trace-base': ['src/gateway/observability/tracing/'],
  '@opentelemetry/exporter-trace-otlp-http': ['src/gateway/observability/tracing/'],
  '@opentelemetry/resources': ['src/gateway/observability/tracing/'],
  '@opentelemetry/core': ['src/gateway/observability/tracing/'],
  pino: ['src/gateway/observability/logger.ts'],
  recheck: ['src/gateway/policy/regex-safety.ts'],
};
const CORE = [
  'src/gateway/**/*.ts',
  'src/schedule/**/*.ts',
  'src/redis/**/*.ts',
  'src/catalog/**/*.ts',
  'src/shared/**/*.ts',
];
const OUTSIDE_THE_CORE = ['**/cli', '**/cli/**', '**/sandbox', '**/sandbox/**', '**/bench', '**/bench/**'];
const PURE = [
  'src/catalog/**/*.ts',
  'src/shared/**/*.ts',
  'src/gateway/target/**/*.ts',
  'src/gateway/policy/**/*.ts',
  'src/gateway/auth/**/*.ts',
];

const libraryPaths = (except = []) =>
  Object.entries(LIBRARY_HOMES)
    .filter(([name]) => !except.includes(name))
    .map(([name, homes]) => ({ name, message: `import ${name} only in ${homes.join(' or ')}` }));
const librariesByHome = () => {
  const byHome = new Map();
  for (const [name, homes] of Object.entries(LIBRARY_HOMES))
    for (const home of homes) byHome.set(home, [...(byHome.get(home) ?? []), name]);
  return [...byHome.entries()];
};
const homeGlobs = (homes) => homes.map((home) => (home.endsWith('/') ? `${home}**/*.ts` : home));

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-typecheck/**',
      'dist-bench/**',
      '.test-build/**',
      'coverage/**',
      'node_modules/**',
      'jest.config.js',
      '.snapdist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The bin shim, the build scripts and Jest's global teardown are plain CommonJS run by Node.
    files: ['bin/**/*.js', 'scripts/**/*.js', 'test/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        process: 'readonly',
        __dirname: 'readonly',
        module: 'writable',
        setTimeout: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Prettier wraps code at 120; this holds comments to the same width. Long strings stay whole (greppable).
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
    },
  },
  // The product (src/): every library only in its home. ESLint's later blocks replace a rule's options, so each
  // library's home gets a block that lists every library but its own.
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: libraryPaths() }] },
  },
  ...librariesByHome().map(([home, names]) => ({
    files: homeGlobs([home]),
    rules: { 'no-restricted-imports': ['error', { paths: libraryPaths(names) }] },
  })),
  {
    files: CORE,
    ignores: Object.values(LIBRARY_HOMES).flatMap(homeGlobs),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: libraryPaths(),
          patterns: [
            { group: OUTSIDE_THE_CORE, message: 'the core does not import the CLI, the sandbox or the benches' },
          ],
        },
      ],
    },
  },
  {
    files: PURE,
    ignores: Object.values(LIBRARY_HOMES).flatMap(homeGlobs),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'express', message: 'pure modules must not depend on express' }, ...libraryPaths()],
          patterns: [
            { group: OUTSIDE_THE_CORE, message: 'the core does not import the CLI, the sandbox or the benches' },
          ],
        },
      ],
    },
  },
);
