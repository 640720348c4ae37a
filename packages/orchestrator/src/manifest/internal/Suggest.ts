/**
 * "Did you mean" suggestions by edit distance.
 *
 * @internal
 */

/** Levenshtein distance between two strings. @internal */
export const distance = (a: string, b: string): number => {
  if (a === b) return 0
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost)
    }
    prev = cur
  }
  return prev[b.length]!
}

const fold = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, "")

/**
 * The closest candidate, when it is close enough to be a likely typo: the same word ignoring
 * case, dashes and underscores (`stop_timeout` → `stopTimeout`), or within 1 edit for short
 * words and 2 for words of 5 characters or more.
 *
 * @internal
 */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  const folded = fold(word)
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = fold(c) === folded ? 0 : distance(folded, fold(c))
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  const limit = folded.length >= 5 ? 2 : 1
  return bestDistance <= limit ? best : undefined
}
