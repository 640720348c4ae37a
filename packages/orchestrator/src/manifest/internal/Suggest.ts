/**
 * "Did you mean" suggestions by edit distance.
 *
 * @internal
 */

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of neighbours
 * (Levenshtein with transpositions: `hots` is one edit from `host`).
 *
 * @internal
 */
export const distance = (a: string, b: string): number => {
  if (a === b) return 0
  const rows: Array<Array<number>> = [Array.from({ length: b.length + 1 }, (_, j) => j)]
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      row[j] = d
    }
    rows.push(row)
  }
  return rows[a.length]![b.length]!
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
