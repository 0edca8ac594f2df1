/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per file,
 * and the idle share — what bench/findings.md quotes when a target is missed.
 *   node --import tsx bench/lib/profile-summary.ts <file.cpuprofile> [top]
 */
import fs from 'node:fs'

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount: number, children?: number[] }
const [file, topArg] = process.argv.slice(2)
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Node[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }
const byId = new Map(profile.nodes.map(n => [n.id, n]))
const self = new Map<number, number>()
for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
const total = [...self.values()].reduce((a, b) => a + b, 0)
const fn = new Map<string, number>()
const files = new Map<string, number>()
for (const [id, us] of self) {
  const n = byId.get(id)!
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'nm:').replace(/.*\/work\/main\//, '')
  const key = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`
  fn.set(key, (fn.get(key) ?? 0) + us)
  const f = url.startsWith('nm:') ? url.split('/').slice(0, url.startsWith('nm:@') ? 2 : 1).join('/') : (url || n.callFrame.functionName)
  files.set(f, (files.get(f) ?? 0) + us)
}
const top = Number(topArg ?? 25)
const pct = (us: number) => `${(100 * us / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms`
console.log(`total ${(total / 1000).toFixed(0)} ms sampled`)
console.log('\n-- by module --')
for (const [k, v] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k)
console.log('\n-- by function --')
for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k)
