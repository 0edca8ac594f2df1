/**
 * A Ferry worker process that pulls one source and exits, printing
 * {status, filesCount, rowsAccepted, ms, maxRssBytes} — the memory benchmarks read the peak RSS of
 * exactly this process (process.resourceUsage().maxRSS), and the chaos suite SIGKILLs it mid-pull.
 *
 * JavaScript, so that it can run Ferry's code two ways: the TypeScript sources under tsx (the chaos
 * suite: `node --import tsx bench/lib/pull-child.mjs`), or, with FERRY_PULL_CHILD_CODE=dist, the
 * compiled dist/ under plain node, as `npm start` runs it (the memory benchmarks: tsx's loader
 * and the source maps it keeps cost ~27 MiB of RSS that no user's worker has).
 *
 * Environment: the Ferry variables of bench/lib/ferry.ts (DATABASE_URL, FERRY_MASTER_KEY, …).
 * argv: <sourceId> [leaseWaitMs]
 */
const code = process.env.FERRY_PULL_CHILD_CODE === 'dist' ? '../../dist/' : '../../src/'
const { relaunchWithHeapFlags } = await import(`${code}heap.js`)

// the same heap settings as `ferry serve` (src/heap.ts), before anything else loads: the memory
// benchmarks measure what a user's worker uses
relaunchWithHeapFlags()
const { loadConfig } = await import(`${code}config.js`)
const { createLogger } = await import(`${code}log.js`)
const { startRuntime } = await import(`${code}runtime.js`)
const { pullSource } = await import(`${code}sync/pull.js`)

const [sourceId, leaseWait] = process.argv.slice(2)
const config = loadConfig(process.env)
const logger = createLogger({ level: config.logLevel, pretty: false, destination: process.stderr })
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
  process.stdout.write(JSON.stringify({ error: err.message, code: err.code }) + '\n')
  exitCode = 1
} finally {
  await runtime.stop()
}
process.exit(exitCode)
