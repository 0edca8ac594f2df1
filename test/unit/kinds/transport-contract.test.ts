import { afterAll, beforeAll } from 'vitest'
import type { Deps } from '../../../src/deps.js'
import { s3Kind } from '../../../src/kinds/s3/index.js'
import { AddressPolicy } from '../../../src/net/address-policy.js'
import { MemoryTransport } from '../../helpers/memory-transport.js'
import { startS3rver, type S3rverHandle } from '../../helpers/s3.js'
import { describeTransport } from '../../helpers/transport-contract.js'

describeTransport('in-memory', async (fn) => fn(new MemoryTransport(2), ''))

let s3: S3rverHandle
let bucket = 0
beforeAll(async () => { s3 = await startS3rver() })
afterAll(() => s3.close())

// the kind's own path (client on the guarded network, credentials as a secret value under trial), one fresh bucket per case
describeTransport('S3', async (fn) => {
  const name = `contract-${++bucket}`
  await s3.createBucket(name)
  const secretRef = '00000000-0000-4000-8000-000000000000'
  const config = { bucket: name, prefix: 'in/', region: 'us-east-1', secretRef, endpoint: s3.endpoint, forcePathStyle: true }
  const deps = { policy: new AddressPolicy(['127.0.0.0/8']), config: { targetTimeoutMs: 5000 } } as unknown as Deps
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
  await s3Kind.withTransport!(deps, 'org', config, t => fn(t, 'in/'), { id: config.secretRef, value: credentials })
})
