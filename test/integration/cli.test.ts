import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { waitForSync } from '../../src/sync/operations.js'
import { ADMIN_KEY, type TestApp } from '../helpers/app.js'
import { backend } from '../helpers/db.js'
import { s3 as match, type FaultProxy } from '../helpers/fault-proxy.js'
import { freePort, spawnFerry } from '../helpers/process.js'
import { startS3World, type S3World } from '../helpers/s3-world.js'
import { until as waitUntil } from '../helpers/poll.js'

/**
 * `ferry pull | test | syncs`, run as real processes against a real server (the test runtime,
 * listening on a port), with s3rver behind a fault proxy so a pull can be held mid-way.
 */

const BUCKET = 'cli-inventory'
const UUID_LINE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/

let w: S3World
let t: TestApp
let proxy: FaultProxy
let base: string
let agentId: string

beforeAll(async () => {
  w = await startS3World({ bucket: BUCKET, name: 'cli', env: { FERRY_TARGET_TIMEOUT_MS: '60000' } })
  ;({ t, proxy, agentId } = w)
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
})
afterEach(() => { proxy.clear() })
afterAll(async () => { await w?.close() })

const put = (key: string, body: string) => w.put(key, body)
const newSource = (prefix: string, extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}) => w.newSource(prefix, { extra, config })

interface CliRun { code: number | null, stdout: string, stderr: string }
interface CliProcess { done: Promise<CliRun>, stderr: () => string }

function startCli (args: string[], env: Record<string, string> = {}): CliProcess {
  const p = spawnFerry(args, { FERRY_URL: base, FERRY_API_KEY: ADMIN_KEY, ...env })
  let stdout = ''
  let stderr = ''
  p.child.stdout!.on('data', (d) => { stdout += d })
  p.child.stderr!.on('data', (d) => { stderr += d })
  w.cleanup(async () => { p.child.kill('SIGKILL') })
  return { done: p.exited.then(code => ({ code, stdout, stderr })), stderr: () => stderr }
}
const cli = (args: string[], env?: Record<string, string>) => startCli(args, env).done

async function until (check: () => boolean, what: string, cli?: CliProcess): Promise<void> {
  await waitUntil(what, check, 60_000).catch((err: Error) => {
    throw new Error(`${err.message}${cli ? `; stderr so far:\n${cli.stderr()}` : ''}`)
  })
}

describe('GET /api/v1/data-sources/:sid (the CLI\'s lookup by id)', () => {
  it('answers with the source and its agentId, and 404 for other organisations, unknown and malformed ids', async () => {
    const sourceId = await newSource('lookup/')
    const res = await t.api('GET', `/api/v1/data-sources/${sourceId}`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ id: sourceId, agentId, type: 's3', role: 'INVENTORY_SOURCE', redactedSecrets: { secretRef: { type: 'aws' } } })
    expect(res.json()).not.toHaveProperty('orgId')
    expect(res.body).not.toContain(w.store.secretAccessKey + '"')

    const other = await t.newOrg('cli-other')
    expect((await t.api('GET', `/api/v1/data-sources/${sourceId}`, { key: other })).statusCode).toBe(404)
    expect((await t.api('GET', '/api/v1/data-sources/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404)
    expect((await t.api('GET', '/api/v1/data-sources/not-an-id')).statusCode).toBe(404)
    expect((await t.api('GET', `/api/v1/data-sources/${sourceId}`, { key: null })).statusCode).toBe(401)
  })
})

describe('ferry pull', () => {
  it('--wait shows the running sync\'s progress, then a summary line, and exits 0 when it succeeded', async () => {
    await put('bar/1.csv', 'sku,quantity\nP1,1\nP2,2\n')
    await put('bar/2.csv', 'sku,quantity\nP3,3\n')
    const sourceId = await newSource('bar/')
    // The pull is held at the proxy while the CLI watches. On PostgreSQL: the download of 2.csv,
    // so the sync is provably running with one of two files done. On PGlite (one connection) a
    // file's open transaction holds the whole database, API included, until the file is in: the
    // listing is held instead, and the sync shows as started.
    const postgres = backend() === 'postgres'
    const hold = proxy.plan(postgres ? match.getObject(BUCKET, 'bar/2.csv') : match.listObjects(BUCKET), { kind: 'hold' })
    const shown = postgres ? /pulling: 1\/2 files · \d+ B of \d+ B · listed 2 objects \(/ : /pulling: starting… \(/
    const run = startCli(['pull', sourceId, '--wait'])
    await until(() => shown.test(run.stderr()), `a progress line matching ${shown}`, run)
    hold.release()
    const { code, stdout, stderr } = await run.done

    expect(code, stderr).toBe(0)
    expect(stdout).toMatch(/^✓ Sync [0-9a-f-]{36} succeeded in .+: 2 files \(\d+ B\), 3 rows accepted, 0 rejected\.\n$/)
    const syncId = /Sync ([0-9a-f-]{36})/.exec(stdout)![1]
    const sync = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sourceId}/syncs/${syncId}`)).json()
    expect(sync).toMatchObject({ status: 'succeeded', filesCount: 2, rowsAccepted: 3, trigger: 'manual' })
  })

  it('--wait exits 1 on a partial sync and names the files that need attention', async () => {
    await put('part/good.csv', 'sku,quantity\nG1,1\nG2,lots\n')
    await put('part/bad.json', '[{"sku": "x"},')
    const sourceId = await newSource('part/')
    const { code, stdout, stderr } = await cli(['pull', sourceId, '--wait'])
    expect(code, stderr).toBe(1)
    expect(stdout).toMatch(/^✗ Sync [0-9a-f-]{36} partial in /)
    expect(stdout).toMatch(/1 rows accepted, 1 rejected/)
    expect(stdout).toMatch(/\n {2}rejected {2}part\/bad\.json {2}\S/)
    expect(stdout).toMatch(/\n {2}ingested {2}part\/good\.csv {2}1 row rejected, e\.g\. row 3: .*quantity/i)
    expect(stdout).toContain(`The manifest: GET /api/v1/agents/${agentId}/data-sources/${sourceId}/syncs/`)
  })

  it('without --wait prints the new sync id and exits 0; a pull already running is named without --wait and followed with it', async () => {
    await put('busy/a.csv', 'sku\nB1\n')
    const sourceId = await newSource('busy/')
    // the pull's listing is held: the sync runs, and no file transaction blocks PGlite meanwhile
    const hold = proxy.plan(match.listObjects(BUCKET), { kind: 'hold' })
    const started = await cli(['pull', sourceId])
    expect(started.code, started.stderr).toBe(0)
    expect(started.stdout).toMatch(UUID_LINE)
    const syncId = started.stdout.trim()
    expect(started.stderr).toContain(`ferry syncs ${sourceId}`)
    await hold.reached()

    const joined = await cli(['pull', sourceId])
    expect(joined.code, joined.stderr).toBe(0)
    expect(joined.stderr).toContain(`already running (sync ${syncId}); no new one was started`)
    expect(joined.stdout.trim()).toBe(syncId)

    const follow = startCli(['pull', sourceId, '--wait'])
    await until(() => follow.stderr().includes('following it'), 'the CLI to follow the running pull', follow)
    hold.release()
    const followed = await follow.done
    expect(followed.code, followed.stderr).toBe(0)
    expect(followed.stdout).toContain(`✓ Sync ${syncId} succeeded`)
    expect(await waitForSync(t.runtime.deps, syncId, 30_000)).toMatchObject({ status: 'succeeded', filesCount: 1 })
  })
})

describe('ferry test', () => {
  it('prints each check with ✓/✗ and its message; exits 0 when ok, 1 when a check fails', async () => {
    await put('probe/new.csv', 'sku\nT1\n')
    const ok = await newSource('probe/')
    const broken = await newSource('probe/', { validate: false }, { bucket: 'no-such-bucket' })
    const [passed, failed] = await Promise.all([cli(['test', ok]), cli(['test', broken])])

    expect(passed.code, passed.stderr).toBe(0)
    const lines = passed.stdout.trim().split('\n')
    expect(lines.map(l => l.split(/\s+/).slice(0, 2).join(' ')))
      .toEqual(['✓ secret', '✓ endpoint', '✓ credentials', '✓ bucket', '✓ prefix', '✓ format', 'Test passed.'])
    expect(passed.stdout).toMatch(/✓ prefix +.*1 object.*1 new/)
    expect(passed.stdout).toMatch(/✓ format +.*probe\/new\.csv.*CSV/)

    expect(failed.code, failed.stderr).toBe(1)
    expect(failed.stdout).toMatch(/✗ bucket +.*no-such-bucket/)
    expect(failed.stdout.trim().split('\n').at(-1)).toBe('Test failed at "bucket".')
    // read-only: no sync recorded
    expect((await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${ok}/syncs`)).json().items).toEqual([])
  })
})

describe('ferry syncs', () => {
  it('prints the last syncs as a table, newest first, --limit N of them', async () => {
    await put('hist/a.csv', 'sku\nH1\nH2\n')
    const sourceId = await newSource('hist/')
    const empty = await cli(['syncs', sourceId])
    expect(empty).toMatchObject({ code: 0, stdout: 'No syncs of "cli hist/" yet.\n' })

    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      if (i === 1) await put('hist/b.csv', 'sku\nH3\n')
      const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull?wait=true`)
      expect(res.statusCode, res.body).toBe(200)
      ids.push(res.json().id)
    }
    const { code, stdout, stderr } = await cli(['syncs', sourceId, '--limit', '2'])
    expect(code, stderr).toBe(0)
    const [header, ...rows] = stdout.trimEnd().split('\n')
    expect(header.split(/\s{2,}/)).toEqual(['STARTED', 'TRIGGER', 'STATUS', 'FILES', 'ROWS', 'REJECTED', 'BYTES', 'DURATION', 'SYNC'])
    expect(rows).toHaveLength(2)
    expect(rows.map(r => r.split(/\s+/).at(-1))).toEqual([ids[2], ids[1]])
    expect(rows[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+manual\s+succeeded\s+1\s+1\s+0\s+\d+ B\s+[\d.]+ m?s\s+/)
    expect(rows[0]).toMatch(/manual\s+succeeded\s+0\s+0\s+0\s+0 B/)
  })
})

describe('the CLI\'s connection and argument errors', () => {
  it('exits 2 with one clear line, and never prints the API key', async () => {
    const sourceId = await newSource('errors/')
    const other = await t.newOrg('cli-errors-other')
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-cli-'))
    w.cleanup(() => fs.rm(dataDir, { recursive: true, force: true }))
    await fs.writeFile(path.join(dataDir, 'admin-api-key'), `${ADMIN_KEY}\n`, { mode: 0o600 })
    const closedPort = await freePort()

    const [badKey, otherOrg, unknown, notAnId, badLimit, unreachable, badUrl, noKey, fromFile, help] = await Promise.all([
      cli(['syncs', sourceId], { FERRY_API_KEY: 'fy_not_a_valid_key_at_all' }),
      cli(['pull', sourceId, '--wait'], { FERRY_API_KEY: other }),
      cli(['test', '00000000-0000-4000-8000-000000000000']),
      cli(['pull', 'daily-drops']),
      cli(['syncs', sourceId, '--limit', '0']),
      cli(['syncs', sourceId], { FERRY_URL: `http://127.0.0.1:${closedPort}` }),
      cli(['syncs', sourceId], { FERRY_URL: 'ftp://example.com' }),
      cli(['syncs', sourceId], { FERRY_API_KEY: '', FERRY_DATA_DIR: path.join(dataDir, 'missing') }),
      cli(['syncs', sourceId], { FERRY_API_KEY: '', FERRY_DATA_DIR: dataDir }),
      cli(['pull', '--help']),
    ])
    const failures = { badKey, otherOrg, unknown, notAnId, badLimit, unreachable, badUrl, noKey }
    for (const [name, run] of Object.entries(failures)) {
      expect(run.code, `${name}: ${run.stderr}`).toBe(2)
      expect(run.stdout, name).toBe('')
      expect(run.stderr.trim().split('\n'), name).toHaveLength(1)
      expect(run.stderr, name).not.toContain(ADMIN_KEY)
    }
    expect(badKey.stderr).toMatch(/^ferry: The API key is not valid\. \(key from FERRY_API_KEY\)/)
    expect(otherOrg.stderr).toContain(`Data source ${sourceId} not found`)
    expect(unknown.stderr).toContain('not found')
    expect(notAnId.stderr).toMatch(/expected a data source id/)
    expect(badLimit.stderr).toMatch(/expected a whole number from 1 to 200/)
    expect(unreachable.stderr).toMatch(new RegExp(`Could not reach Ferry at http://127\\.0\\.0\\.1:${closedPort} \\(ECONNREFUSED\\)`))
    expect(badUrl.stderr).toMatch(/FERRY_URL: must start with http:\/\/ or https:\/\//)
    expect(noKey.stderr).toMatch(/No API key: set FERRY_API_KEY.*admin-api-key does not exist/)
    // the key the server wrote to $FERRY_DATA_DIR/admin-api-key is used when FERRY_API_KEY is unset
    expect(fromFile).toMatchObject({ code: 0, stdout: 'No syncs of "cli errors/" yet.\n' })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/FERRY_URL +the server, default http:\/\/127\.0\.0\.1:\$PORT/)
    expect(help.stdout).toMatch(/FERRY_API_KEY +an API key/)
    expect(help.stdout).toMatch(/admin-api-key/)
  })
})
