import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CHECK_LABELS, checkLabel } from '../../../web/src/lib/checks.js'

/** Every step name a Test can answer, read from the server code that names them (the Test runner and every kind). */
function serverStepNames (): string[] {
  const names = new Set<string>()
  const kinds = new URL('../../../src/kinds/', import.meta.url)
  const files = (fs.readdirSync(kinds, { recursive: true }) as string[]).filter(f => f.endsWith('.ts')).map(f => new URL(f, kinds))
  for (const url of [new URL('../../../src/sync/availability.ts', import.meta.url), ...files]) {
    const source = fs.readFileSync(url, 'utf8')
    // list.step('name', …), list.step<T>('name', …), list.step(cond ? 'a' : 'b', …)
    // and the shared steps of src/kinds/target-checks.ts: checkHostAllowed(deps, list, 'name', …)
    for (const call of source.matchAll(/(?:\.step(?:<[^>]*>)?\(|check(?:HostAllowed|SecretResolves)\(deps, list, )([^,]*),/g)) {
      for (const literal of call[1]!.matchAll(/(?:^|\?|:)\s*'([^']+)'/g)) names.add(literal[1]!)
    }
  }
  return [...names].sort()
}

describe('Test check labels (web UI)', () => {
  it('has a label for every check the server runs', () => {
    const names = serverStepNames()
    // the S3 and outbound webhook checks at least
    expect(names).toEqual(expect.arrayContaining([
      'secret', 'credentials', 'bucket', 'prefix', 'format', 'dns', 'address', 'options', 'signing secret', 'header secret',
    ]))
    expect(names.filter(n => !(n in CHECK_LABELS))).toEqual([])
  })

  it('capitalises a name it does not know instead of hiding it', () => {
    expect(checkLabel('dns')).toBe('DNS')
    expect(checkLabel('quota')).toBe('Quota')
  })
})
