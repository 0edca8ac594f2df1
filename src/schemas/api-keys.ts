import { Type } from 'typebox'
import { AUDIT_RESOURCE_TYPES } from '../audit/resource-types.js'
import { Page, Timestamp, Uuid } from './common.js'

export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')],
  { description: 'viewer: reads; operator: runs the feeds and edits agents and sources; admin: everything' })

export const ApiKey = Type.Object({
  id: Uuid,
  name: Type.String(),
  role: RoleSchema,
  hint: Type.Optional(Type.String({ description: 'last four characters of the key (shown to admin keys only)' })),
  isInstanceAdmin: Type.Boolean(),
  createdAt: Timestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  expiresAt: Type.Union([Timestamp, Type.Null()]),
}, { title: 'ApiKey' })

export const ApiKeyCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  role: RoleSchema,
  expiresAt: Type.Optional(Type.Union([Timestamp, Type.Null()], { description: 'after this time the key answers 401; must be in the future' })),
}, { title: 'ApiKeyCreate', additionalProperties: false })

export const Me = Type.Object({
  org: Type.Object({ id: Uuid, name: Type.String() }),
  apiKey: Type.Object({ id: Uuid, name: Type.String(), role: RoleSchema, isInstanceAdmin: Type.Boolean(), expiresAt: Type.Union([Timestamp, Type.Null()]) }),
}, { title: 'Me' })

export const AuditEntry = Type.Object({
  id: Uuid,
  at: Timestamp,
  actor: Type.Object({
    apiKeyId: Type.Union([Uuid, Type.Null()], { description: 'null: the ferry CLI on the database host' }),
    name: Type.String(),
    role: RoleSchema,
  }),
  action: Type.String({ description: 'create, update, delete, revoke, test, pull, push, resolve' }),
  resourceType: Type.String({ description: AUDIT_RESOURCE_TYPES.join(', ') }),
  resourceId: Type.String(),
  changes: Type.Optional(Type.Record(Type.String(), Type.Object({ before: Type.Optional(Type.Unknown()), after: Type.Optional(Type.Unknown()) }),
    { description: 'updates: each changed field before and after; secret values appear redacted, as everywhere in the API' })),
}, { title: 'AuditEntry' })

export const AuditQuery = Type.Object({
  ...Page.properties,
  resourceType: Type.Optional(Type.String({ maxLength: 50, description: AUDIT_RESOURCE_TYPES.join(', ') })),
  resourceId: Type.Optional(Type.String({ maxLength: 200 })),
})
