import { redactValue } from '../redact-value.js'
import type { SecretTypeDescriptor } from './descriptor.js'
import { checkString, NO_SPACE_PRINTABLE } from './fields.js'

export interface AwsSecretValue {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

const ASCII = 'printable ASCII without spaces'

declare module '../secret.js' {
  interface SecretValues { aws: AwsSecretValue }
}

/**
 * AWS credentials (S3 sources and sinks). The access key id is scrubbed too: AWS treats it as
 * semi-public, but it identifies the customer's IAM user and is half of the credential.
 */
export const awsSecret: SecretTypeDescriptor<AwsSecretValue> = {
  type: 'aws',
  fields: { required: ['accessKeyId', 'secretAccessKey'], optional: ['sessionToken'] },
  parse (source) {
    const out: AwsSecretValue = {
      accessKeyId: checkString('value.accessKeyId', source.accessKeyId, { min: 3, max: 128, pattern: NO_SPACE_PRINTABLE, what: ASCII }),
      secretAccessKey: checkString('value.secretAccessKey', source.secretAccessKey, { max: 1024, pattern: NO_SPACE_PRINTABLE, what: ASCII }),
    }
    if (source.sessionToken !== undefined && source.sessionToken !== null) {
      out.sessionToken = checkString('value.sessionToken', source.sessionToken, { pattern: NO_SPACE_PRINTABLE, what: ASCII })
    }
    return out
  },
  redact (v) {
    const out: Record<string, string> = { accessKeyId: redactValue(v.accessKeyId), secretAccessKey: redactValue(v.secretAccessKey) }
    if (typeof v.sessionToken === 'string' && v.sessionToken !== '') out.sessionToken = redactValue(v.sessionToken)
    return out
  },
  secretStrings: v => [v.accessKeyId, v.secretAccessKey, ...(typeof v.sessionToken === 'string' ? [v.sessionToken] : [])],
  triedBySourcePing: true,
}
