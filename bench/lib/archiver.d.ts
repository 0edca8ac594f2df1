// archiver comes with exceljs (a dependency of Ferry); only what bench/formats-memory.ts uses is typed here.
declare module 'archiver' {
  import type { Writable } from 'node:stream'
  interface Archiver {
    pipe (destination: Writable): Writable
    file (path: string, data: { name: string }): Archiver
    finalize (): Promise<void>
    on (event: 'error', listener: (err: Error) => void): Archiver
  }
  function archiver (format: 'zip', options?: { zlib?: { level?: number }, forceZip64?: boolean }): Archiver
  export default archiver
}
