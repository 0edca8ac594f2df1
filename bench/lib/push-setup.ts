import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { Readable } from 'node:stream'
import { createSource } from '../../src/sources/service.js'
import { requestPush } from '../../src/push/service.js'
import { freePort, waitForHttp } from '../../test/helpers/process.js'
import { startFerry } from './ferry.js'
import { ROOT } from './proc.js'

export interface Receiver {
  base: string
  child: ChildProcess
  stats (): Promise<{ count: number, unique: number, bytes: number, firstAt: number, lastAt: number }>
  reset (): Promise<void>
  close (): void
}

/** bench/lib/receiver.ts in its own process. */
export async function startReceiver (bodyFile: string): Promise<Receiver> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/lib/receiver.ts'), String(port), bodyFile], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit']
  })
  await waitForHttp(`${base}/stats`, 30_000, () => child.exitCode === null)
  return {
    base,
    child,
    stats: async () => (await fetch(`${base}/stats`)).json() as never,
    reset: async () => { await fetch(`${base}/reset`, { method: 'POST' }) },
    close: () => { child.kill('SIGTERM') },
  }
}

export interface PushFixture { orgId: string, agentId: string, jobId: string, sinks: string[] }

/**
 * On the database at `url`: an upload of `rows` rows whose auto-map job yields the result to push,
 * and `sinks` webhook sinks (JSON, signed) pointing at the receiver.
 */
export async function preparePushes (url: string, receiverBase: string, options: { rows: number, sinks: number }): Promise<PushFixture> {
  const setup = await startFerry({ database: { url, drop: async () => {} }, role: 'all' })
  try {
    const { orgId, agent, deps } = setup
    const { secret } = await deps.vault.create(orgId, { name: 'signing', type: 'webhook' })
    const csv = ['sku,name,quantity,price,currency,location']
    for (let i = 1; i <= options.rows; i++) csv.push(`SKU-${i},Widget number ${i} (blue),${i % 500},${(i % 1000) / 10},EUR,WH-${i % 7}`)
    await deps.pipeline.ingestAll(deps.db, { orgId, agent, stream: Readable.from([csv.join('\n') + '\n']), fileName: 'result-source.csv' })
    let jobId: string | undefined
    for (let i = 0; i < 600 && !jobId; i++) {
      const { rows } = await deps.db.query<{ id: string, status: string }>('SELECT id, status FROM mapping_jobs WHERE agent_id = $1', [agent.id])
      if (rows[0]?.status === 'failed') throw new Error('the mapping job failed')
      if (rows[0]?.status === 'succeeded') jobId = rows[0].id
      else await new Promise(resolve => setTimeout(resolve, 100))
    }
    if (!jobId) throw new Error('the mapping job did not finish within 60 s')
    const sinks: string[] = []
    for (let i = 0; i < options.sinks; i++) {
      const { source } = await createSource(deps, orgId, agent.id, {
        name: `receiver ${i}`, role: 'RESULTS_SINK', type: 'webhook', validate: false,
        config: { url: `${receiverBase}/hook/${i}`, format: 'json', secretRef: secret.id },
      })
      sinks.push(source.id)
    }
    return { orgId, agentId: agent.id, jobId, sinks }
  } finally {
    await setup.close()
  }
}

/** Queues one manual push per sink (an API process's work); returns the sync ids. */
export async function queuePushes (url: string, f: PushFixture): Promise<string[]> {
  const api = await startFerry({ database: { url, drop: async () => {} }, role: 'api' })
  try {
    const syncIds: string[] = []
    for (const sinkId of f.sinks) syncIds.push((await requestPush(api.deps, f.orgId, f.agentId, sinkId, f.jobId)).id)
    return syncIds
  } finally {
    await api.close()
  }
}
