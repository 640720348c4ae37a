/**
 * Follows podman's events file: an inotify watch (`fs.watch`) on the file's directory and one
 * read per notification, with a slow poll as a backstop. Emits whole lines only; follows
 * podman's rotation (a new file renamed over the path: the old one is read to its end first,
 * then the new one from after the last line read) and truncation in place (read again from the
 * start); waits for a file (or directory) that does not exist yet. Internal: `PodmanRuntime`
 * decodes the lines and falls back to `podman events` when the file cannot be read.
 */
import { basename, dirname } from "node:path"
import { Cause, Data, Effect, Queue, Stream } from "effect"
import { closeSync, fstatSync, type FSWatcher, openSync, readSync, statSync, watch } from "../../fs/internal/Files.js"
import * as EventsFile from "../PodmanEventsFile.js"

/** The events file could not be watched or read (not: does not exist yet). */
export class EventsFileError extends Data.TaggedError("EventsFileError")<{
  readonly path: string
  readonly reason: string
}> {}

/** Where reading left off in one file (its inode), after the last whole line read. */
export interface Position extends EventsFile.Seen {
  readonly ino: number
  readonly offset: number
}

/**
 * Where to begin: at the file's end (lines written from now on), at a time (lines stamped since,
 * from the whole file), or where an earlier tail left off (same file: at its offset; a file
 * that replaced it: after its last line).
 */
export type Start =
  | { readonly _tag: "End" }
  | { readonly _tag: "Since"; readonly at: number }
  | { readonly _tag: "At"; readonly position: Position }

export interface Options {
  /** The backstop: how often the file is looked at without a notification. */
  readonly pollMs: number
  /** Called after each batch of lines with where a restart should resume. */
  readonly onPosition?: (position: Position) => void
}

const chunkSize = 64 * 1024
const empty = new Uint8Array(0)

const readToEnd = (fd: number, from: number): Uint8Array => {
  const parts: Array<Buffer> = []
  let at = from
  for (;;) {
    const buffer = Buffer.allocUnsafe(chunkSize)
    const n = readSync(fd, buffer, 0, chunkSize, at)
    if (n === 0) break
    parts.push(buffer.subarray(0, n))
    at += n
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
}

/** Where a tail starting at the file's end begins: after its last newline, and that line. */
const endOf = (fd: number, size: number): { readonly offset: number; readonly lastLine: string | undefined } => {
  const from = Math.max(0, size - chunkSize)
  const buffer = Buffer.allocUnsafe(size - from)
  const n = size === from ? 0 : readSync(fd, buffer, 0, size - from, from)
  const bytes = buffer.subarray(0, n)
  const end = bytes.lastIndexOf(10)
  if (end < 0) return { offset: from === 0 ? 0 : size, lastLine: undefined }
  const previous = end === 0 ? -1 : bytes.lastIndexOf(10, end - 1)
  const lastLine = previous < 0 && from > 0 ? undefined : bytes.subarray(previous + 1, end).toString("utf8")
  return { offset: from + end + 1, lastLine: lastLine === "" ? undefined : lastLine }
}

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The lines appended to `path`, from `start` on, until the stream is closed or fails. */
export const tail = (path: string, start: Start, options: Options): Stream.Stream<string, EventsFileError> =>
  Stream.callback<string, EventsFileError>((queue) =>
    Effect.gen(function* () {
      const dir = dirname(path)
      const name = basename(path)
      let fd: number | undefined
      let ino = 0
      let offset = 0
      let pending: Uint8Array = empty
      let seen: EventsFile.Seen = start._tag === "At" ? start.position : { lastLine: undefined, lastAt: undefined }
      let first = true
      let closed = false
      let watcher: FSWatcher | undefined
      let timer: ReturnType<typeof setInterval> | undefined

      const deliver = (lines: ReadonlyArray<string>) => {
        if (lines.length > 0) {
          const lastLine = lines[lines.length - 1]!
          seen = { lastLine, lastAt: EventsFile.timeOfLine(lastLine) ?? seen.lastAt }
        }
        options.onPosition?.({ ino, offset: offset - pending.length, ...seen })
        if (lines.length > 0) Queue.offerAllUnsafe(queue, lines)
      }

      /** Reads what was appended since the last read, keeping an unfinished line for later. */
      const readMore = (): ReadonlyArray<string> => {
        const bytes = readToEnd(fd!, offset)
        offset += bytes.length
        const { lines, rest } = EventsFile.wholeLines(pending, bytes)
        pending = rest
        return lines
      }

      /** Opens the file now at the path and reads it whole; returns its lines. */
      const openWhole = (): ReadonlyArray<string> => {
        fd = openSync(path, "r")
        ino = fstatSync(fd).ino
        offset = 0
        pending = empty
        return readMore()
      }

      const openFirst = () => {
        if (start._tag === "End") {
          fd = openSync(path, "r")
          const st = fstatSync(fd)
          ino = st.ino
          const end = endOf(fd, st.size)
          offset = end.offset
          seen = { lastLine: end.lastLine, lastAt: end.lastLine === undefined ? undefined : EventsFile.timeOfLine(end.lastLine) }
          deliver(readMore())
        } else if (start._tag === "Since") {
          deliver(EventsFile.since(openWhole(), start.at))
        } else if (statSync(path).ino === start.position.ino) {
          fd = openSync(path, "r")
          const st = fstatSync(fd)
          ino = st.ino
          // shrunk: truncated in place, all of it is new
          offset = st.size < start.position.offset ? 0 : start.position.offset
          deliver(readMore())
        } else {
          deliver(EventsFile.newAfterRotation(openWhole(), seen))
        }
      }

      /** Ends the stream with an `EventsFileError`; nothing is read after it. */
      const fail = (reason: string) => {
        closed = true
        Queue.failCauseUnsafe(queue, Cause.fail(new EventsFileError({ path, reason })))
      }

      const check = () => {
        if (closed) return
        try {
          let st: ReturnType<typeof statSync> | undefined
          try {
            st = statSync(path)
          } catch (e) {
            if (codeOf(e) !== "ENOENT") throw e
          }
          if (fd === undefined) {
            if (st === undefined) return
            if (first) openFirst()
            // created (or replaced after a removal) since the tail began: after what was read
            else deliver(EventsFile.newAfterRotation(openWhole(), seen))
            first = false
            return
          }
          if (st === undefined || st.ino !== ino) {
            // replaced (podman's rotation) or removed: the old file first, to its end
            const old = readMore()
            closeSync(fd)
            fd = undefined
            pending = empty
            deliver(old)
            if (st === undefined) return
            deliver(EventsFile.newAfterRotation(openWhole(), seen))
            return
          }
          if (st.size < offset) {
            offset = 0
            pending = empty
          }
          deliver(readMore())
        } catch (e) {
          fail(`${codeOf(e) ?? "error"}: ${reasonOf(e)}`)
        }
      }

      const arm = () => {
        if (watcher !== undefined || closed) return
        try {
          watcher = watch(dir, (_event, filename) => {
            if (filename === null || filename === name) check()
          })
          watcher.on("error", (e) => {
            fail(`watch ${dir}: ${reasonOf(e)}`)
          })
        } catch (e) {
          // a directory that does not exist yet is watched once it does (the poll retries)
          if (codeOf(e) !== "ENOENT") {
            fail(`watch ${dir}: ${codeOf(e) ?? "error"}: ${reasonOf(e)}`)
          }
        }
      }

      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          closed = true
          clearInterval(timer)
          watcher?.close()
          if (fd !== undefined) closeSync(fd)
        })
      )
      // the watch first: a line written between the first read and the watch is then not missed
      arm()
      check()
      // a file missing at the start is new when it appears, whatever `start` said
      first = false
      timer = setInterval(() => {
        arm()
        check()
      }, options.pollMs)
    })
  )
