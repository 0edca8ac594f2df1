import { describe, expect, it } from 'vitest'
import { KIND_CONFIGS, KIND_TYPES } from '../../../src/kinds/configs.js'
import { kinds } from '../../../src/kinds/registry.js'

// The API schemas read src/kinds/configs.ts (plain data the web can type-check against), the
// service reads the registry: a kind added to one and not the other would be refused or undocumented.
describe('kind configs and the kind registry', () => {
  it('list the same kinds', () => {
    expect([...KIND_TYPES].sort()).toEqual(kinds().map(k => k.type).sort())
  })

  it('give each (kind, role) the same config schema', () => {
    for (const kind of kinds()) {
      const documented = KIND_CONFIGS[kind.type as keyof typeof KIND_CONFIGS] as Record<string, unknown>
      for (const role of ['INVENTORY_SOURCE', 'RESULTS_SINK'] as const) {
        expect(documented[role], `${kind.type} ${role}`).toBe(kind.roles[role]?.config)
      }
    }
  })
})
