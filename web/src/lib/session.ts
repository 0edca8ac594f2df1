// The API key lives in sessionStorage only: it is gone when the tab closes, and it is never
// written to localStorage, a cookie or the DOM.
const KEY = 'ferry.apiKey'

export function getApiKey (): string | null {
  try { return sessionStorage.getItem(KEY) } catch { return null }
}

export function setApiKey (key: string): void {
  sessionStorage.setItem(KEY, key)
}

export function clearApiKey (): void {
  try { sessionStorage.removeItem(KEY) } catch { /* storage unavailable: nothing stored */ }
}
