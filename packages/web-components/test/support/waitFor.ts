/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. Not a timing assertion. */
export const waitFor = async (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
