import neostandard from 'neostandard'

// typescript-eslint with neostandard's rules and its @stylistic formatting rules, set to the style the
// code was already written in (docs/decisions.md, "Lint and format").
export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'data/**', 'coverage/**', 'web/dist/**', 'test-output/**', 'bench/tmp/**'] }),
  {
    rules: {
      '@stylistic/max-len': ['error', { code: 160, ignoreUrls: true }],
      '@stylistic/jsx-quotes': ['error', 'prefer-double'],
      // short objects stay on one line where they fit: `{ a, b,\n c }` reads better than one key a line
      '@stylistic/object-property-newline': 'off',
      '@stylistic/jsx-closing-bracket-location': 'off',
      '@stylistic/jsx-first-prop-new-line': 'off',
    },
  },
]
