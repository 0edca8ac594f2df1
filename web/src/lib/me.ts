import { createContext } from 'preact'
import { useContext } from 'preact/hooks'
import type { Me, Role } from '../api/types'

// The signed-in key (GET /me), so each view offers only what the key's role may do. The server
// decides (403 FORBIDDEN_ROLE); this only keeps buttons that would fail off the page.
export const MeContext = createContext<Me | null>(null)

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

export const useMe = (): Me | null => useContext(MeContext)

/** Whether the signed-in key has at least `role` (false until /me has answered). */
export function useCan (role: Role): boolean {
  const me = useContext(MeContext)
  return me !== null && RANK[me.apiKey.role] >= RANK[role]
}
