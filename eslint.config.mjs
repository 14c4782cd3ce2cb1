import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      curly: ['error', 'multi-line'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  {
    files: ['src/kyc/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../*', 'bullmq', 'express', 'ioredis'] }],
    },
  },
  {
    files: ['src/providers/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['bullmq', 'express', 'ioredis', '../../workers/*', '../../webhooks/*', '../../api/*'] }] },
  },
  {
    files: ['src/webhooks/**/*.ts', 'src/api/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../workers/*', '../../workers/*'] }] },
  },
  {
    files: ['src/workers/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../webhooks/*', '../api/*'] }] },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // test/faults/redis-cluster.test.ts runs test/integration against a Redis Cluster: connect
    // through test/helpers/redis.ts (connectRedis), which handles both kinds of REDIS_URL.
    files: ['test/integration/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Redis']", message: 'use connectRedis() from test/helpers/redis.ts (the suite also runs on a Redis Cluster)' }],
    },
  },
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
