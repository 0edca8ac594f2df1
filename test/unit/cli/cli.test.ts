import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { SyncInfo } from '../../../src/cli/client.js'
import { pullSummary } from '../../../src/cli/commands.js'
import { CliError, resolveApiKey, resolveBaseUrl } from '../../../src/cli/connection.js'
import { clean, formatBytes, formatDuration, formatTime, table } from '../../../src/cli/format.js'
import { createProgressView, describeProgress, renderBar } from '../../../src/cli/progress.js'

const ESC = '\u001b'

function fakeStream (isTTY: boolean) {
  const chunks: string[] = []
  return { chunks, text: () => chunks.join(''), stream: { isTTY, columns: 120, write (s: string) { chunks.push(s); return true } } }
}

describe('CLI output is safe and readable', () => {
  it('strips control characters and bidi overrides from untrusted text', () => {
    expect(clean(`daily/${ESC}[2J${ESC}]0;owned\u0007x.csv`)).toBe('daily/?[2J?]0;owned?x.csv')
    expect(clean('a\u202eb\r\nc\u009bd')).toBe('a?b??c?d')
    expect(clean('x'.repeat(500), 10)).toBe('x'.repeat(9) + '…')
    expect(clean(null)).toBe('')
  })

  it('formats bytes, durations, times and tables', () => {
    expect([0, 1023, 1536, 10 * 1024 * 1024, 3 * 1024 ** 4].map(formatBytes)).toEqual(['0 B', '1023 B', '1.5 KiB', '10 MiB', '3.0 TiB'])
    expect([null, 12, 1500, 75_000, 2 * 3600_000 + 60_000].map(formatDuration)).toEqual(['—', '12 ms', '1.5 s', '1 min 15 s', '2 h 1 min'])
    expect(formatTime('2024-05-01T12:00:03.456Z')).toBe('2024-05-01 12:00:03Z')
    expect(formatTime('garbage')).toBe('—')
    expect(table(['NAME', 'N'], [['a', '1'], ['long name', '100']], new Set([1]))).toBe('NAME         N\na            1\nlong name  100\n')
  })
})

describe('pull progress', () => {
  it('describes each phase of a running pull', () => {
    expect(describeProgress(null)).toBe('starting…')
    expect(describeProgress({ filesListed: 0, filesTotal: 0 })).toBe('listing…')
    expect(describeProgress({ filesListed: 1500, filesTotal: 0 })).toBe('listed 1,500 objects, nothing new so far')
    expect(describeProgress({ filesListed: 12, filesTotal: 10, filesDone: 3, bytesDone: 2048, bytesTotal: 10 * 1024 }))
      .toBe('3/10 files · 2.0 KiB of 10 KiB · listed 12 objects')
    // a server without bytesTotal still gives a line
    expect(describeProgress({ filesListed: 2, filesTotal: 2, filesDone: 1, bytesDone: 10 })).toBe('1/2 files · 10 B · listed 2 objects')
  })

  it('draws a cli-progress bar on a terminal', () => {
    const out = fakeStream(true)
    let now = 0
    const view = createProgressView(out.stream, () => now)
    now = 3000
    view.update({ filesListed: 4, filesTotal: 4, filesDone: 1, bytesDone: 100, bytesTotal: 400 })
    view.stop()
    const text = out.text()
    expect(text).toContain(`${renderBar(0.25)} 1/4 files · 100 B of 400 B · listed 4 objects · 3.0 s`)
    expect(renderBar(0.25)).toBe(`[${'█'.repeat(6)}${'░'.repeat(18)}]`)
    expect(text).toContain(`${ESC}[?25l`) // cursor hidden while drawing …
    expect(text).toContain(`${ESC}[?25h`) // … and shown again
  })

  it('writes a plain line per change, at most one every 2 s, when not on a terminal', () => {
    const out = fakeStream(false)
    let now = 0
    const view = createProgressView(out.stream, () => now)
    view.update(null)
    now = 500
    view.update({ filesListed: 3, filesTotal: 3, filesDone: 0 })
    now = 2500
    view.update({ filesListed: 3, filesTotal: 3, filesDone: 2, bytesDone: 10, bytesTotal: 30 })
    now = 3000
    view.update({ filesListed: 3, filesTotal: 3, filesDone: 2, bytesDone: 10, bytesTotal: 30 })
    view.stop()
    expect(out.chunks).toEqual([
      'pulling: starting… (0 ms)\n',
      'pulling: 2/3 files · 10 B of 30 B · listed 3 objects (2.5 s)\n',
    ])
    expect(out.text()).not.toContain(ESC)
  })
})

describe('the pull summary', () => {
  const sync = (over: Partial<SyncInfo>): SyncInfo => ({
    id: '01900000-0000-7000-8000-000000000001', sourceId: 's', direction: 'inbound', trigger: 'manual', status: 'succeeded',
    startedAt: '2024-05-01T12:00:00Z', finishedAt: '2024-05-01T12:00:02Z', durationMs: 1500, filesCount: 2, bytes: 2048,
    rowsAccepted: 1234, rowsRejected: 0, error: null, manifest: [], ...over,
  })
  const source = { id: 'SID', agentId: 'AID' }

  it('is one line for a clean pull', () => {
    expect(pullSummary(sync({ manifest: [{ key: 'x/skip.pdf', status: 'skipped', size: 3, rowsAccepted: 0, rowsRejected: 0 }] }), source))
      .toBe('✓ Sync 01900000-0000-7000-8000-000000000001 succeeded in 1.5 s: 2 files (2.0 KiB), 1,234 rows accepted, 0 rejected, 1 skipped.\n')
  })

  it('lists the files that need attention (cleaned, at most 10) and where the manifest is', () => {
    const problems = Array.from({ length: 12 }, (_, i) => ({
      key: `in/${ESC}[31mf${i}.csv`, status: 'failed', size: 1, rowsAccepted: 0, rowsRejected: 0, reason: `timed out${ESC}[0m`,
    }))
    const text = pullSummary(sync({
      status: 'partial',
      manifest: [
        { key: 'in/rows.csv', status: 'ingested', size: 9, rowsAccepted: 5, rowsRejected: 2, errors: [{ row: 4, message: 'quantity is not a number' }] },
        ...problems,
      ],
    }), source)
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^✗ Sync \S+ partial in 1\.5 s: /)
    expect(lines[1]).toBe('  ingested  in/rows.csv  2 rows rejected, e.g. row 4: quantity is not a number')
    expect(lines[2]).toBe('  failed    in/?[31mf0.csv  timed out?[0m')
    expect(lines.filter(l => l.startsWith('  failed'))).toHaveLength(9)
    expect(lines).toContain('  … and 3 more')
    expect(lines).toContain('  The manifest: GET /api/v1/agents/AID/data-sources/SID/syncs/01900000-0000-7000-8000-000000000001')
    expect(lines.at(-1)).toMatch(/next pull tries them again/)
    expect(text).not.toContain(ESC)
  })

  it('shows the error of a failed pull', () => {
    const failed = sync({
      status: 'failed', filesCount: 0, bytes: 0, rowsAccepted: 0, error: { code: 'S3_CONFIG', message: 'The bucket "gone" does not exist.' },
    })
    const text = pullSummary(failed, source)
    expect(text.split('\n')[1]).toBe('  S3_CONFIG: The bucket "gone" does not exist.')
  })
})

describe('where the CLI finds the server and its key', () => {
  it('FERRY_URL, else 127.0.0.1:$PORT; refuses URLs it cannot use', () => {
    expect(resolveBaseUrl({})).toBe('http://127.0.0.1:8080')
    expect(resolveBaseUrl({ PORT: '9090' })).toBe('http://127.0.0.1:9090')
    expect(resolveBaseUrl({ FERRY_URL: 'https://ferry.example.com/base/', PORT: '9090' })).toBe('https://ferry.example.com/base')
    for (const [env, message] of [
      [{ FERRY_URL: 'ferry.example.com' }, /not a URL/],
      [{ FERRY_URL: 'file:///etc/passwd' }, /http:\/\/ or https:\/\//],
      [{ FERRY_URL: 'https://user:pw@ferry.example.com' }, /user name or password/],
      [{ FERRY_URL: 'https://ferry.example.com/?key=1' }, /query/],
      [{ PORT: 'eighty' }, /PORT/],
    ] as const) {
      expect(() => resolveBaseUrl(env), JSON.stringify(env)).toThrow(message)
    }
  })

  it('FERRY_API_KEY, else $FERRY_DATA_DIR/admin-api-key', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-cli-unit-'))
    try {
      expect(await resolveApiKey({ FERRY_API_KEY: ' fy_env ', FERRY_DATA_DIR: dir })).toEqual({ apiKey: 'fy_env', keySource: 'FERRY_API_KEY' })
      await expect(resolveApiKey({ FERRY_DATA_DIR: dir })).rejects.toThrow(CliError)
      await fs.writeFile(path.join(dir, 'admin-api-key'), 'fy_from_file\n')
      expect(await resolveApiKey({ FERRY_DATA_DIR: dir })).toEqual({ apiKey: 'fy_from_file', keySource: path.join(dir, 'admin-api-key') })
      await fs.writeFile(path.join(dir, 'admin-api-key'), 'two keys\n')
      await expect(resolveApiKey({ FERRY_DATA_DIR: dir })).rejects.toThrow(/does not hold one key/)
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
