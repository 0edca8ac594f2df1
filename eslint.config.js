import neostandard from 'neostandard'

// typescript-eslint with neostandard's rules and its @stylistic formatting rules, set to the style the
// code was already written in (docs/decisions.md, "Lint and format").
export default [
  // built and generated files (the UI tests build dist/web) are never linted
  { ignores: ['dist/**', 'data/**', 'coverage/**', 'web/dist/**', 'test-output/**', 'bench/tmp/**'] },
  ...neostandard({ ts: true }),
  {
    rules: {
      '@stylistic/max-len': ['error', { code: 160, ignoreUrls: true }],
      '@stylistic/jsx-quotes': ['error', 'prefer-double'],
      // short objects stay on one line where they fit: `{ a, b,\n c }` reads better than one key a line
      '@stylistic/object-property-newline': 'off',
      // SQL reads best in backticks (its own quotes unescaped); a trailing comma may end a multi-line list
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
      '@stylistic/comma-dangle': ['error', 'only-multiline'],
      // a `return` ending each case of a switch says it does not fall through, even in the last one
      'no-useless-return': 'off',
      // `void promise` marks a promise deliberately left to run
      'no-void': ['error', { allowAsStatement: true }],
      // Ferry looks for control characters on purpose (NUL in input, C0 in terminal output)
      'no-control-regex': 'off',
      '@stylistic/jsx-closing-bracket-location': 'off',
      '@stylistic/jsx-first-prop-new-line': 'off',
    },
  },
  {
    // the web UI type-checks against these schemas (web/src/api/types.ts), without the server's
    // types (no node:*): they import typebox, each other and plain-value modules only
    files: ['src/schemas/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '^(?!typebox(/|$)|\\./|\\.\\./(errors|domain/(sync|agent)|formats/catalogue|kinds/configs|audit/resource-types)\\.js$)',
          message: 'src/schemas imports typebox and plain-value modules only: the web UI type-checks against it (web/src/api/types.ts)',
        }],
      }],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      // a TypeBox schema and its Static type share a name; TypeScript itself refuses real redeclarations
      '@typescript-eslint/no-redeclare': 'off',
      '@typescript-eslint/no-unused-vars': ['error', {
        args: 'none', caughtErrors: 'none', ignoreRestSiblings: true, varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_',
      }],
    },
  },
]
