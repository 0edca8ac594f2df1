import { useState } from 'preact/hooks'
import { api, ApiError } from '../api/client'
import { TextField } from '../components/fields'
import { Logo } from '../components/icons'

/**
 * Sign in with an API key. The key is checked against the API before it is stored (sessionStorage);
 * the input is uncontrolled and cleared on submit, so the key does not stay in the DOM.
 */
export function SignIn ({ notice, onSignedIn }: { notice: string | null, onSignedIn: (key: string) => void }) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const input = form.elements.namedItem('apiKey') as HTMLInputElement
    const key = input.value.trim()
    input.value = ''
    if (!key) { setError('Paste an API key.'); input.focus(); return }
    setBusy(true)
    setError(null)
    try {
      await api.get('/agents?limit=1', { key })
      onSignedIn(key)
    } catch (err) {
      const apiError = err instanceof ApiError ? err : null
      setError(apiError?.status === 401
        ? 'This API key was not accepted. Check that you copied all of it, and that it has not been revoked.'
        : apiError?.message ?? 'Sign-in failed. Try again.')
      setBusy(false)
      input.focus()
    }
  }

  return (
    <div class="signin">
      <main class="signin-card">
        <h1><Logo /> Ferry</h1>
        <p class="lead">Moves inventory files in and mapping results out for your agents.</p>
        {notice && <p class="notice" role="status">{notice}</p>}
        <form onSubmit={submit} noValidate>
          <TextField
            label="API key"
            name="apiKey"
            type="password"
            autoComplete="off"
            spellcheck={false}
            autoFocus
            error={error ?? undefined}
            hint="Starts with fy_. It is kept for this browser tab only and cleared when you sign out."
          />
          <button type="submit" class="btn btn-primary btn-block" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        </form>
      </main>
    </div>
  )
}
