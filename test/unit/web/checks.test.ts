import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CHECK_LABELS, checkLabel } from '../../../web/src/lib/checks.js'

/** Every step name a Test can answer, read from the server code that names them. */
function serverStepNames (): string[] {
  const names = new Set<string>()
  for (const file of ['../../../src/sync/availability.ts', '../../../src/inbound/check.ts']) {
    const url = new URL(file, import.meta.url)
    if (!fs.existsSync(url)) continue
    const source = fs.readFileSync(url, 'utf8')
    // list.step('name', …), list.step<T>('name', …), list.step(cond ? 'a' : 'b', …)
    for (const call of source.matchAll(/\.step(?:<[^>]*>)?\(([^,]*),/g)) {
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
