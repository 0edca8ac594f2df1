/**
 * Who may call what: the one table of route → minimum role (docs/security.md, "API keys and roles").
 * The auth plugin (src/plugins/auth.ts) looks every request up here by method and route pattern; a
 * route that is not in the table is refused to every key, so a new route cannot ship unguarded
 * (test/integration/roles.test.ts walks every operation of the OpenAPI document).
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const
export type Role = typeof ROLES[number]

/**
 * - a role: that role or a higher one;
 * - `instance`: only the instance-admin key (organisations are above any one organisation);
 * - `public`: no API key — the route authenticates itself (inbound webhooks: the signature).
 */
export type Access = Role | 'instance' | 'public'

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

export const roleAtLeast = (role: Role, minimum: Role): boolean => RANK[role] >= RANK[minimum]

export const isRole = (value: unknown): value is Role => (ROLES as readonly string[]).includes(value as string)

const A = '/api/v1'

/**
 * Reads are for every role. Operators run and repair the feeds (test, pull, push, uploads, mapping
 * jobs, resolve, channel tests) and create and edit agents and sources; deleting them, secrets,
 * channels, API keys and the audit log are the admin's (docs/decisions.md, "Roles").
 */
export const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
  [`POST ${A}/admin/orgs`]: 'instance',
  [`GET ${A}/me`]: 'viewer',

  [`GET ${A}/api-keys`]: 'viewer',
  [`POST ${A}/api-keys`]: 'admin',
  [`DELETE ${A}/api-keys/:id`]: 'admin',
  [`GET ${A}/audit-log`]: 'admin',

  [`GET ${A}/secrets`]: 'viewer',
  [`GET ${A}/secrets/:id`]: 'viewer',
  [`POST ${A}/secrets`]: 'admin',
  [`PATCH ${A}/secrets/:id`]: 'admin',
  [`DELETE ${A}/secrets/:id`]: 'admin',

  [`GET ${A}/agents`]: 'viewer',
  [`GET ${A}/agents/:id`]: 'viewer',
  [`POST ${A}/agents`]: 'operator',
  [`PATCH ${A}/agents/:id`]: 'operator',
  [`DELETE ${A}/agents/:id`]: 'admin',

  [`GET ${A}/agents/:id/data-sources`]: 'viewer',
  [`GET ${A}/agents/:id/data-sources/:sid`]: 'viewer',
  [`GET ${A}/data-sources/:sid`]: 'viewer',
  [`POST ${A}/agents/:id/data-sources`]: 'operator',
  [`PATCH ${A}/agents/:id/data-sources/:sid`]: 'operator',
  [`DELETE ${A}/agents/:id/data-sources/:sid`]: 'admin',
  [`POST ${A}/agents/:id/data-sources/:sid/test`]: 'operator',
  [`POST ${A}/agents/:id/data-sources/preview`]: 'operator',
  [`POST ${A}/agents/:id/data-sources/:sid/preview`]: 'operator',
  [`POST ${A}/agents/:id/data-sources/:sid/pull`]: 'operator',
  [`POST ${A}/agents/:id/data-sources/:sid/push`]: 'operator',
  [`GET ${A}/agents/:id/data-sources/:sid/syncs`]: 'viewer',
  [`GET ${A}/agents/:id/data-sources/:sid/syncs/:syncId`]: 'viewer',
  [`POST ${A}/agents/:id/data-sources/:sid/syncs/:syncId/cancel`]: 'operator',
  [`POST ${A}/agents/:id/data-sources/:sid/syncs/:syncId/retry`]: 'operator',
  [`POST ${A}/agents/:id/data-sources/:sid/reset`]: 'operator',

  [`GET ${A}/agents/:id/inventory/uploads`]: 'viewer',
  [`GET ${A}/agents/:id/inventory/uploads/:uid`]: 'viewer',
  [`GET ${A}/agents/:id/inventory/uploads/:uid/items`]: 'viewer',
  [`POST ${A}/agents/:id/inventory/uploads`]: 'operator',

  [`GET ${A}/agents/:id/jobs`]: 'viewer',
  [`GET ${A}/agents/:id/jobs/:jobId`]: 'viewer',
  [`GET ${A}/agents/:id/jobs/:jobId/results`]: 'viewer',
  [`POST ${A}/agents/:id/jobs`]: 'operator',

  [`GET ${A}/agents/:id/pending-items`]: 'viewer',
  [`POST ${A}/agents/:id/pending-items/:pid/resolve`]: 'operator',

  [`GET ${A}/agents/:id/channels`]: 'viewer',
  [`GET ${A}/agents/:id/channels/:cid/deliveries`]: 'viewer',
  [`POST ${A}/agents/:id/channels`]: 'admin',
  [`PATCH ${A}/agents/:id/channels/:cid`]: 'admin',
  [`DELETE ${A}/agents/:id/channels/:cid`]: 'admin',
  [`POST ${A}/agents/:id/channels/:cid/test`]: 'operator',

  [`POST ${A}/inbound/:sourceId`]: 'public',
}

/** The table's entry for a request; HEAD is answered by the GET route. Undefined = not in the table: refused. */
export function accessOf (method: string, url: string): Access | undefined {
  return ROUTE_ACCESS[`${method === 'HEAD' ? 'GET' : method} ${url}`]
}
