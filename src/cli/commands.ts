import { InvalidArgumentError, type Command } from 'commander'
import { ApiError, FerryClient, type ManifestItem, type SourceInfo, type SyncInfo } from './client.js'
import { CliError, resolveConnection, type Env } from './connection.js'
import { clean, formatBytes, formatCount, formatDuration, formatTime, table } from './format.js'
import { createProgressView, type ProgressStream } from './progress.js'

/**
 * The client commands: `ferry pull`, `ferry test`, `ferry syncs`. They talk to a running Ferry
 * over its HTTP API (FERRY_URL, FERRY_API_KEY), so they work against any deployment, including
 * the scale-out mode, and never touch the database or a secret.
 *
 * Exit codes: 0 done (the sync succeeded, the test passed); 1 the sync ended partial/failed or the
 * test failed; 2 the command could not be carried out (bad arguments, server unreachable, API key
 * refused, unknown source, a pull already running); 130 interrupted while waiting.
 */

export interface Io {
  /** results (the summary line, tables, the sync id) */
  out: ProgressStream
  /** progress and hints for a person */
  err: ProgressStream
}

export const EXIT = { ok: 0, failed: 1, error: 2, interrupted: 130 } as const

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** how many problem files the pull summary lists before "… and N more" */
const MAX_PROBLEMS_SHOWN = 10

function sourceIdArg (value: string): string {
  if (!UUID.test(value)) throw new InvalidArgumentError('expected a data source id (a UUID, as shown by the API and the web UI)')
  return value.toLowerCase()
}

function limitArg (value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 200) throw new InvalidArgumentError('expected a whole number from 1 to 200')
  return Number(value)
}

export interface PullOptions {
  wait: boolean
  /** how often the sync is polled while waiting */
  pollMs?: number
  /** aborting stops waiting (the pull goes on on the server) */
  signal?: AbortSignal
}

/** `ferry pull <sourceId> [--wait]` */
export async function pullCommand (client: FerryClient, sourceId: string, options: PullOptions, io: Io): Promise<number> {
  const source = await client.source(sourceId)
  const { syncId, joined } = await client.startPull(source)
  if (!options.wait) {
    io.out.write(`${syncId}\n`)
    const what = joined
      ? `A pull of "${clean(source.name)}" is already running (sync ${syncId}); no new one was started.`
      : `Pull of "${clean(source.name)}" started (sync ${syncId}).`
    io.err.write(`${what} Follow it with \`ferry syncs ${source.id}\`, or pull with --wait.\n`)
    return EXIT.ok
  }
  if (joined) io.err.write(`A pull of "${clean(source.name)}" is already running (sync ${syncId}); following it.\n`)

  const finished = await waitForSync(client, source, syncId, options, io)
  if (!finished) {
    io.err.write(`Stopped waiting; the pull goes on on the server (sync ${syncId}). Follow it with \`ferry syncs ${source.id}\`.\n`)
    return EXIT.interrupted
  }
  const full = await client.sync(source, finished.id)
  io.out.write(pullSummary(full, source))
  return full.status === 'succeeded' ? EXIT.ok : EXIT.failed
}

/** Polls the sync until it leaves `running`; null when aborted. Tolerates a few failed polls in a row. */
async function waitForSync (client: FerryClient, source: SourceInfo, syncId: string, options: PullOptions, io: Io): Promise<SyncInfo | null> {
  const view = createProgressView(io.err)
  const pollMs = options.pollMs ?? 500
  let failedPolls = 0
  try {
    for (;;) {
      if (options.signal?.aborted) return null
      try {
        const current = await findSync(client, source, syncId)
        failedPolls = 0
        if (current.status !== 'running') {
          view.update(current.progress ?? { filesDone: current.filesCount, filesTotal: current.filesCount, bytesDone: current.bytes })
          return current
        }
        view.update(current.progress)
      } catch (err) {
        // a refused key or a deleted source will not heal; a restarting server may
        if (err instanceof ApiError && err.status < 500) throw err
        if (++failedPolls >= 10) {
          throw new CliError(
            `Lost contact with Ferry while waiting (${(err as Error).message}). ` +
              `The pull goes on on the server (sync ${syncId}); check it with \`ferry syncs ${source.id}\`.`
          )
        }
      }
      await sleep(pollMs, options.signal)
    }
  } finally {
    view.stop()
  }
}

/**
 * The sync's row without its manifest (which can be large): it is among the newest few, since a
 * source has one pull at a time; the single-sync route is the fallback.
 */
async function findSync (client: FerryClient, source: SourceInfo, syncId: string): Promise<SyncInfo> {
  const recent = await client.syncs(source, 20)
  return recent.find(s => s.id === syncId) ?? await client.sync(source, syncId)
}

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(done, ms)
    function done () {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** The summary line of a finished pull, then the files that need a person's attention. */
export function pullSummary (sync: SyncInfo, source: Pick<SourceInfo, 'id' | 'agentId'>): string {
  const mark = sync.status === 'succeeded' ? '✓' : '✗'
  const manifest = sync.manifest ?? []
  const skipped = manifest.filter(e => e.status === 'skipped').length
  const parts = [
    `${formatCount(sync.filesCount)} file${sync.filesCount === 1 ? '' : 's'} (${formatBytes(sync.bytes)})`,
    `${formatCount(sync.rowsAccepted)} rows accepted`,
    `${formatCount(sync.rowsRejected)} rejected`,
    ...(skipped ? [`${formatCount(skipped)} skipped`] : []),
  ]
  const lines = [`${mark} Sync ${sync.id} ${sync.status} in ${formatDuration(sync.durationMs)}: ${parts.join(', ')}.`]
  if (sync.error) lines.push(`  ${clean(sync.error.code)}: ${clean(sync.error.message, 1000)}`)
  const problems = manifest.filter(e => e.status === 'rejected' || e.status === 'failed' || (e.status === 'ingested' && e.rowsRejected > 0))
  for (const entry of problems.slice(0, MAX_PROBLEMS_SHOWN)) lines.push(`  ${entry.status.padEnd(8)}  ${clean(entry.key, 200)}  ${problemText(entry)}`)
  if (problems.length > MAX_PROBLEMS_SHOWN) lines.push(`  … and ${problems.length - MAX_PROBLEMS_SHOWN} more`)
  if (problems.length || sync.error) {
    lines.push(`  The manifest: GET /api/v1/agents/${source.agentId}/data-sources/${source.id}/syncs/${sync.id}`)
    if (problems.some(e => e.status === 'failed')) lines.push('  Failed files are not recorded as taken: the next pull tries them again.')
  }
  return lines.join('\n') + '\n'
}

function problemText (entry: ManifestItem): string {
  const firstError = entry.errors?.[0]
  const example = firstError ? `${firstError.row !== undefined ? `row ${firstError.row}: ` : ''}${firstError.message}` : ''
  if (entry.status === 'ingested') {
    return clean(`${formatCount(entry.rowsRejected)} row${entry.rowsRejected === 1 ? '' : 's'} rejected${example ? `, e.g. ${example}` : ''}`)
  }
  return clean(entry.reason ?? (example || 'no reason recorded'))
}

/** `ferry test <sourceId>` */
export async function testCommand (client: FerryClient, sourceId: string, io: Io): Promise<number> {
  const source = await client.source(sourceId)
  io.err.write(`Testing "${clean(source.name)}" (${clean(source.type)} ${clean(source.role)}); read-only, nothing is pulled…\n`)
  const result = await client.test(source)
  const width = Math.max(0, ...result.checks.map(c => clean(c.name, 40).length))
  for (const check of result.checks) {
    io.out.write(`${check.ok ? '✓' : '✗'} ${clean(check.name, 40).padEnd(width)}  ${clean(check.message, 1000)} (${formatDuration(check.durationMs)})\n`)
  }
  const failed = result.checks.find(c => !c.ok)
  io.out.write(result.ok ? 'Test passed.\n' : `Test failed${failed ? ` at "${clean(failed.name, 40)}"` : ''}.\n`)
  return result.ok ? EXIT.ok : EXIT.failed
}

/** `ferry syncs <sourceId> [--limit N]` */
export async function syncsCommand (client: FerryClient, sourceId: string, options: { limit: number }, io: Io): Promise<number> {
  const source = await client.source(sourceId)
  const syncs = await client.syncs(source, options.limit)
  if (syncs.length === 0) {
    io.out.write(`No syncs of "${clean(source.name)}" yet.\n`)
    return EXIT.ok
  }
  io.out.write(table(
    ['STARTED', 'TRIGGER', 'STATUS', 'FILES', 'ROWS', 'REJECTED', 'BYTES', 'DURATION', 'SYNC'],
    syncs.map(s => [
      formatTime(s.startedAt), clean(s.trigger, 20), clean(s.status, 20), formatCount(s.filesCount), formatCount(s.rowsAccepted), formatCount(s.rowsRejected),
      formatBytes(s.bytes), s.status === 'running' ? 'running' : formatDuration(s.durationMs), s.id,
    ]),
    new Set([3, 4, 5, 6])
  ))
  return EXIT.ok
}

export const CLIENT_ENV_HELP = `
Environment (pull, test, syncs talk to a running Ferry over HTTP):
  FERRY_URL       the server, default http://127.0.0.1:$PORT (PORT default 8080)
  FERRY_API_KEY   an API key of the source's organisation; default: the key in
                  $FERRY_DATA_DIR/admin-api-key (FERRY_DATA_DIR default ./data)

Exit codes: 0 done (sync succeeded, test passed), 1 sync partial/failed or test failed,
2 the command could not be carried out (arguments, server, API key, unknown source).
`

/** Adds `pull`, `test` and `syncs` to the ferry program. */
export function registerClientCommands (program: Command, env: Env = process.env, io: Io = { out: process.stdout, err: process.stderr }): void {
  const run = async (fn: (client: FerryClient) => Promise<number>) => {
    try {
      process.exitCode = await fn(new FerryClient(await resolveConnection(env)))
    } catch (err) {
      if (err instanceof CliError) {
        io.err.write(`ferry: ${clean(err.message, 2000)}\n`)
        process.exitCode = err.exitCode
        return
      }
      io.err.write(`ferry: unexpected error: ${clean((err as Error)?.message ?? err, 2000)}\n`)
      process.exitCode = EXIT.error
    }
  }
  // usage errors exit 2 too, so scripts can tell "the sync failed" (1) from "nothing happened" (2)
  const usageExit = (cmd: Command) => cmd.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.error))

  usageExit(program.command('pull')
    .description('pull a data source now; with --wait, show its progress and exit 0 only if it succeeded')
    .argument('<sourceId>', 'the data source id', sourceIdArg)
    .option('--wait', 'wait for the pull to finish, with a progress bar, then print a summary')
    .addHelpText('after', CLIENT_ENV_HELP)
    .action(async (sourceId: string, options: { wait?: boolean }) => {
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.once('SIGINT', onSigint)
      try {
        await run(client => pullCommand(client, sourceId, { wait: Boolean(options.wait), signal: controller.signal }, io))
      } finally {
        process.removeListener('SIGINT', onSigint)
      }
    }))

  usageExit(program.command('test')
    .description('test a data source read-only (credentials, bucket, prefix, newest file) and print each check')
    .argument('<sourceId>', 'the data source id', sourceIdArg)
    .addHelpText('after', CLIENT_ENV_HELP)
    .action(async (sourceId: string) => { await run(client => testCommand(client, sourceId, io)) }))

  usageExit(program.command('syncs')
    .description('the last syncs of a data source, newest first')
    .argument('<sourceId>', 'the data source id', sourceIdArg)
    .option('--limit <n>', 'how many (1-200)', limitArg, 20)
    .addHelpText('after', CLIENT_ENV_HELP)
    .action(async (sourceId: string, options: { limit: number }) => { await run(client => syncsCommand(client, sourceId, options, io)) }))

  program.addHelpText('after', CLIENT_ENV_HELP)
}
