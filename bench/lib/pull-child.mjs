/**
 * A Ferry worker process that pulls one source and exits, printing
 * {status, filesCount, rowsAccepted, ms, maxRssBytes} — the memory benchmark reads the peak RSS of
 * exactly this process (process.resourceUsage().maxRSS), and the chaos suite SIGKILLs it mid-pull.
 *
 * Environment: the Ferry variables of bench/lib/ferry.ts (DATABASE_URL, FERRY_MASTER_KEY, …).
 * argv: <sourceId> [leaseWaitMs]
 */
import { relaunchWithHeapFlags } from '../../src/heap.js'

// the same heap settings as `ferry serve` (src/heap.ts), before anything else loads: the memory
// benchmarks measure what a user's worker uses
relaunchWithHeapFlags()
const { loadConfig } = await import('../../src/config.js')
const { createLogger } = await import('../../src/log.js')
const { startRuntime } = await import('../../src/runtime.js')
const { pullSource } = await import('../../src/sync/pull.js')

const [sourceId, leaseWait] = process.argv.slice(2)
const config = loadConfig(process.env)
const logger = createLogger({ level: config.logLevel, pretty: false, destination: process.stderr as never })
// a worker process as `ferry serve --role worker` runs it (queue workers included); autoPull is off
// for benchmark agents, so the only pull is the one asked for here
const runtime = await startRuntime(config, { role: 'worker', logger, print: () => {} })
// the chaos suite starts its kill timer on this line: from here on the process is pulling
process.stdout.write(JSON.stringify({ pulling: true, pid: process.pid }) + '\n')
const start = performance.now()
let exitCode = 0
try {
  const sync = await pullSource(runtime.deps, { sourceId, trigger: 'manual', leaseWaitMs: Number(leaseWait ?? 0) })
  const ms = performance.now() - start
  process.stdout.write(JSON.stringify({
    status: sync.status, filesCount: sync.filesCount, rowsAccepted: sync.rowsAccepted, rowsRejected: sync.rowsRejected,
    ms, maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }) + '\n')
} catch (err) {
  process.stdout.write(JSON.stringify({ error: (err as Error).message, code: (err as { code?: string }).code }) + '\n')
  exitCode = 1
} finally {
  await runtime.stop()
}
process.exit(exitCode)
