/** The one value passed between a transport, the cursor/ledger and the pipeline. */
export interface RemoteFile {
  key: string
  etag: string
  size: number
  lastModified: Date | null
}
