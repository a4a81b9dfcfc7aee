import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/fixtures/conformance: vendored verbatim from the MCP conformance repository (see its header).
  {ignores: ['dist/', 'node_modules/', '.cache/', 'charts/', 'crds/', 'test/fixtures/conformance/']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
    },
  },
);
