import cliProgress from 'cli-progress'
import type { SyncProgress } from './client.js'
import { formatBytes, formatCount, formatDuration } from './format.js'

/**
 * What `ferry pull --wait` shows while the sync runs. On a terminal: a cli-progress bar (files
 * done of files to ingest, bytes, elapsed time), redrawn in place. Anywhere else (CI logs, pipes):
 * a plain line whenever the numbers change, at most one every few seconds.
 */
export interface ProgressView {
  update(progress: SyncProgress | null | undefined): void
  stop(): void
}

export interface ProgressStream {
  write(chunk: string): boolean
  isTTY?: boolean
  columns?: number
}

const BAR_WIDTH = 24
const PLAIN_LINE_EVERY_MS = 2000

/** "3/10 files · 1.2 MiB of 4.0 MiB", or what the pull is doing before files are counted. */
export function describeProgress (progress: SyncProgress | null | undefined): string {
  if (!progress) return 'starting…'
  const listed = progress.filesListed ?? 0
  const total = progress.filesTotal ?? 0
  const done = progress.filesDone ?? 0
  if (total === 0) return listed > 0 ? `listed ${formatCount(listed)} objects, nothing new so far` : 'listing…'
  const bytes = progress.bytesTotal ? `${formatBytes(progress.bytesDone ?? 0)} of ${formatBytes(progress.bytesTotal)}` : formatBytes(progress.bytesDone ?? 0)
  return `${formatCount(done)}/${formatCount(total)} files · ${bytes} · listed ${formatCount(listed)} objects`
}

export function renderBar (ratio: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.min(1, Math.max(0, ratio)) * width)
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`
}

export function createProgressView (stream: ProgressStream, clock: () => number = Date.now): ProgressView {
  const started = clock()
  if (stream.isTTY) return new BarView(stream, clock, started)
  return new PlainView(stream, clock, started)
}

class BarView implements ProgressView {
  readonly #bar: cliProgress.SingleBar
  #text = describeProgress(null)

  constructor (stream: ProgressStream, private readonly clock: () => number, private readonly started: number) {
    this.#bar = new cliProgress.SingleBar({
      stream: stream as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
      format: (_options, params) => `${renderBar(params.progress)} ${this.#text} · ${formatDuration(this.clock() - this.started)}`,
    })
    this.#bar.start(1, 0)
  }

  update (progress: SyncProgress | null | undefined): void {
    this.#text = describeProgress(progress)
    const total = progress?.filesTotal ?? 0
    this.#bar.setTotal(Math.max(total, 1))
    this.#bar.update(total > 0 ? progress?.filesDone ?? 0 : 0)
  }

  stop (): void { this.#bar.stop() }
}

class PlainView implements ProgressView {
  #last = ''
  #lastAt = -Infinity

  constructor (private readonly stream: ProgressStream, private readonly clock: () => number, private readonly started: number) {}

  update (progress: SyncProgress | null | undefined): void {
    const text = describeProgress(progress)
    const now = this.clock()
    if (text === this.#last || now - this.#lastAt < PLAIN_LINE_EVERY_MS) return
    this.#last = text
    this.#lastAt = now
    this.stream.write(`pulling: ${text} (${formatDuration(now - this.started)})\n`)
  }

  stop (): void {}
}
