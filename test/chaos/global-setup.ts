import fs from 'node:fs/promises'
import path from 'node:path'
import { CHAOS_OUTPUT, loadReports, renderReliability } from '../../bench/chaos/report.js'
import { ROOT } from '../../bench/lib/proc.js'

const STATIC = path.join(ROOT, 'docs/reliability.md')
let started = 0

/** `npm run chaos`: a clean record at the start, docs/reliability.md written from it at the end. */
export async function setup (): Promise<void> {
  started = Date.now()
  await fs.rm(CHAOS_OUTPUT, { recursive: true, force: true })
}

export async function teardown (): Promise<void> {
  const reports = await loadReports()
  if (reports.length === 0) return
  const generated = renderReliability(reports, {
    date: new Date().toISOString(), seconds: (Date.now() - started) / 1000, pgMode: process.env.FERRY_CHAOS_PG === 'system' ? 'system' : 'private',
  })
  // the hand-written part of the document (what is checked and why, findings) follows the generated record
  let manual = ''
  try {
    const current = await fs.readFile(STATIC, 'utf8')
    const at = current.indexOf('<!-- hand-written -->')
    if (at >= 0) manual = current.slice(at)
  } catch {}
  await fs.writeFile(STATIC, generated + (manual ? '\n' + manual : ''))
}
