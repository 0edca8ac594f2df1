import { AppError } from '../../errors.js'
import type { SecretType, SecretValues } from '../secret.js'
import { awsSecret } from './aws.js'
import { azureSecret } from './azure.js'
import type { SecretTypeDescriptor } from './descriptor.js'
import { httpHeaderSecret } from './http-header.js'
import { sftpSecret } from './sftp.js'
import { webhookSecret } from './webhook.js'

/** Every secret type, one line each (docs/extending.md). */
const SECRET_TYPE_DESCRIPTORS: { readonly [K in SecretType]: SecretTypeDescriptor<SecretValues[K]> } = {
  aws: awsSecret,
  webhook: webhookSecret,
  http_header: httpHeaderSecret,
  azure: azureSecret,
  sftp: sftpSecret,
}

export const SECRET_TYPES = Object.keys(SECRET_TYPE_DESCRIPTORS) as readonly SecretType[]

export const isSecretType = (type: unknown): type is SecretType =>
  typeof type === 'string' && Object.hasOwn(SECRET_TYPE_DESCRIPTORS, type)

/** The descriptor of a type; a type this build does not know → 400 naming `type`. */
export function secretTypeOf<K extends SecretType> (type: K): SecretTypeDescriptor<SecretValues[K]>
export function secretTypeOf (type: string): SecretTypeDescriptor<SecretValues[SecretType]>
export function secretTypeOf (type: string): SecretTypeDescriptor<SecretValues[SecretType]> {
  if (!isSecretType(type)) throw new AppError('VALIDATION_FAILED', `type must be one of ${SECRET_TYPES.join(', ')}.`, { details: { field: 'type' } })
  return SECRET_TYPE_DESCRIPTORS[type] as SecretTypeDescriptor<SecretValues[SecretType]>
}
